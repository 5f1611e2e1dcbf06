import proxyAddr from '@fastify/proxy-addr';
import { Global, Injectable, Module } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';
import FindMyWay, { type HTTPMethod } from 'find-my-way';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { errorAnswer, type ErrorLog } from '../common/exception.filter.js';
import type { AccessLog, RequestLog } from './access-log.js';
import { requestIdOf } from './request-id.js';
import { encodedBody } from './request-rules.js';

/** What a hot route sees of a request: no body (a request with one is never hot), nothing parsed lazily. */
export interface HotRequest {
  method: string;
  /** as received: path and query string */
  url: string;
  headers: IncomingHttpHeaders;
  /** the route's path parameters, decoded as Fastify decodes them */
  params: Record<string, string | undefined>;
  /** the query string, parsed as Fastify parses it (empty when there is none) */
  query: Record<string, unknown>;
  /** whether the URL has a query string at all (`?` alone included) */
  hasQuery: boolean;
}

/** A hot route's answer: the pipeline adds x-request-id (and x-served-by), content-length and the access log. */
export interface HotAnswer {
  status: number;
  headers: Record<string, string>;
  body?: string | Buffer;
}

/**
 * A route a feature answers itself before Fastify and Nest (routing objects, hooks, guards, pipes, the
 * handler, serialization: most of a fast request's time), whenever it can. Its Nest controller method
 * stays the route's declaration (the API document, and the answer for every request the hot route leaves
 * to it).
 */
export interface HotRoute {
  method: HTTPMethod;
  /** The route as the controller registers it, e.g. `/api/general/products/:id`. */
  url: string;
  /**
   * The answer; undefined: not this route's to answer (nothing was done), Fastify and Nest take the
   * request unchanged. A thrown error is answered in the API's error shape (`errorAnswer`).
   */
  answer(request: HotRequest): HotAnswer | undefined | Promise<HotAnswer | undefined>;
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

  all(): HotRoute[] {
    return [...this.routes.values()];
  }
}

@Global()
@Module({ providers: [HotRoutes], exports: [HotRoutes] })
export class HotRoutesModule {}

type RequestListener = (request: IncomingMessage, response: ServerResponse) => void;

const NO_QUERY: Record<string, unknown> = Object.freeze({});

/**
 * The hot lane: the server's request listener answers the hot routes before handing any other request to
 * Fastify. What every answer has, it has too, from the same code as Fastify's hooks: x-request-id
 * (`requestIdOf`) and x-served-by, the API's error shape (`errorAnswer`), the access log and metrics
 * (`AccessLog`). It takes only what the pipeline's early rules would let through unchanged: not while the
 * worker is closing (Fastify answers the shutdown 503), and no body, content encoding or multipart type
 * (Fastify answers or refuses those). Routes match as Fastify matches them (find-my-way with Fastify's
 * own router options), and a hot route whose URL no controller registers refuses to start.
 */
export function hotRoutes(
  fastify: FastifyInstance,
  routes: HotRoutes,
  pipeline: {
    closing(): boolean;
    servedBy: string | undefined;
    accessLog: AccessLog;
    /** Fastify's trustProxy: whose X-Forwarded-For names the client in a log line */
    trustedProxies: readonly string[];
  },
): void {
  const { caseSensitive, ignoreTrailingSlash, ignoreDuplicateSlashes, maxParamLength, useSemicolonDelimiter } =
    fastify.initialConfig as typeof fastify.initialConfig & { useSemicolonDelimiter?: boolean };
  const router = FindMyWay({
    caseSensitive,
    ignoreTrailingSlash,
    ignoreDuplicateSlashes,
    maxParamLength,
    // find-my-way reads it (Fastify passes it on) but its types do not declare it yet.
    ...({ useSemicolonDelimiter } as object),
  });
  for (const route of routes.all()) router.on(route.method, route.url, () => undefined, route);

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

  const trusted = proxyAddr.compile([...pipeline.trustedProxies]);
  const server = fastify.server;
  const [fastifyListener] = server.listeners('request') as RequestListener[];
  server.removeListener('request', fastifyListener);
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const found =
      pipeline.closing() || !bodyless(request.headers) ? null : router.find(request.method as HTTPMethod, request.url!);
    if (!found) return fastifyListener(request, response);
    // No body (bodyless): its end is read now, while the answer is awaited, not when the answer is sent
    // (Node's dump of an unread request then costs a chain of ticks per request). Fastify reads no body
    // of a request without one either, should the route leave it to Fastify.
    request.resume();
    const route = found.store as HotRoute;
    const started = performance.now();
    const hot: HotRequest = {
      method: request.method!,
      url: request.url!,
      headers: request.headers,
      params: found.params,
      query: found.searchParams ?? NO_QUERY,
      hasQuery: request.url!.includes('?'),
    };
    const answered = (answer: HotAnswer | undefined) => {
      if (answer) send(request, response, route, started, answer);
      else fastifyListener(request, response);
    };
    const failed = (error: unknown) => {
      const requestId = requestIdOf(request);
      send(request, response, route, started, errorAnswer(error, requestId, requestLog(requestId)), requestId);
    };
    let answer: ReturnType<HotRoute['answer']>;
    try {
      answer = route.answer(hot);
    } catch (error) {
      return failed(error);
    }
    if (answer instanceof Promise) answer.then(answered, failed);
    else answered(answer);
  });

  /** The request's logger as Fastify makes it (its `reqId`), made only for a line that is written. */
  function requestLog(requestId: string): ErrorLog & RequestLog {
    const child = () => fastify.log.child({ reqId: requestId });
    return {
      info: (fields, message) => child().info(fields, message),
      warn: (fields, message) => child().warn(fields, message),
      error: (fields, message) => child().error(fields, message),
    };
  }

  function send(
    request: IncomingMessage,
    response: ServerResponse,
    route: HotRoute,
    started: number,
    answer: HotAnswer,
    requestId = requestIdOf(request),
  ): void {
    const headers: Record<string, string | number> = { ...answer.headers, 'x-request-id': requestId };
    if (pipeline.servedBy) headers['x-served-by'] = pipeline.servedBy;
    // As Fastify does: no length on a 304 or 204, 0 on any other empty answer.
    if (answer.body !== undefined) headers['content-length'] = Buffer.byteLength(answer.body);
    else if (answer.status !== 304 && answer.status !== 204) headers['content-length'] = 0;
    response.writeHead(answer.status, headers).end(answer.body);
    const ms = performance.now() - started;
    const method = request.method!;
    if (pipeline.accessLog.count(method, route.url, answer.status, ms))
      pipeline.accessLog.line(requestLog(requestId), {
        requestId,
        method,
        route: route.url,
        url: request.url!,
        status: answer.status,
        ms,
        ip: proxyAddr(request, trusted),
      });
  }
}

/** No body, no content encoding, no multipart type: what every hot route takes (Fastify answers the rest). */
function bodyless(headers: IncomingHttpHeaders): boolean {
  const length = headers['content-length'];
  if ((length !== undefined && length !== '0') || headers['transfer-encoding'] !== undefined) return false;
  if (encodedBody(headers)) return false;
  const type = headers['content-type'];
  return type === undefined || !/^\s*multipart\//i.test(type);
}
