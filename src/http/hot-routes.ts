import { Global, Injectable, Module } from '@nestjs/common';
import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from 'fastify';
import { sendError } from '../common/exception.filter.js';

/**
 * A route a feature answers itself in Fastify's onRequest phase, before Nest's pipeline (guards, pipes,
 * handler, serialization: most of a fast request's time), whenever it can. Its Nest controller method
 * stays the route's declaration (the API document, and the answer for every request the hot route
 * leaves to it).
 */
export interface HotRoute {
  method: HTTPMethods;
  /** The route as the controller registers it, e.g. `/api/general/products/:id`. */
  url: string;
  /**
   * true: answered here (sent, or a thrown error that the pipeline answers in the API's error shape);
   * false: nothing sent, the request goes on to Nest unchanged.
   */
  answer(request: FastifyRequest, reply: FastifyReply): boolean | Promise<boolean>;
}

/**
 * The hot routes the features declare (each feature registers its own, e.g. in its module's
 * constructor), read by the pipeline's plugin below. The bootstrap and the pipeline name none.
 */
@Injectable()
export class HotRoutes {
  private readonly routes = new Map<string, HotRoute>();

  register(route: HotRoute): void {
    const key = `${route.method} ${route.url}`;
    if (this.routes.has(key)) throw new Error(`hot route ${key} is registered twice`);
    this.routes.set(key, route);
  }

  find(method: string, url: string | undefined): HotRoute | undefined {
    return url === undefined ? undefined : this.routes.get(`${method} ${url}`);
  }

  all(): HotRoute[] {
    return [...this.routes.values()];
  }
}

@Global()
@Module({ providers: [HotRoutes], exports: [HotRoutes] })
export class HotRoutesModule {}

/**
 * Answers the hot routes in an onRequest hook (after the pipeline's own checks: request id, shutdown,
 * content encoding), so a hot answer keeps the access log and metrics (onResponse) and the API's error
 * shape. A hot route whose URL no controller registers would silently never be hot: refuse to start.
 */
export function hotRoutes(fastify: FastifyInstance, routes: HotRoutes): void {
  const registered = new Set<string>();
  fastify.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) registered.add(`${method} ${route.url}`);
  });
  fastify.addHook('onReady', (done) => {
    const missing = routes.all().filter((route) => !registered.has(`${route.method} ${route.url}`));
    done(
      missing.length > 0
        ? new Error(`hot routes without a controller route: ${missing.map((r) => `${r.method} ${r.url}`).join(', ')}`)
        : undefined,
    );
  });
  fastify.addHook('onRequest', (request, reply, done) => {
    const route = routes.find(request.method, request.routeOptions.url);
    if (!route) return done();
    let answered: boolean | Promise<boolean>;
    try {
      answered = route.answer(request, reply);
    } catch (error) {
      return sendError(request, reply, error);
    }
    if (answered === true) return;
    if (answered === false) return done();
    answered.then(
      (sent) => (sent ? undefined : done()),
      (error: unknown) => sendError(request, reply, error),
    );
  });
}
