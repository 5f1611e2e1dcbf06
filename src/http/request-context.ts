import { MikroORM, RequestContext } from '@mikro-orm/core';
import type { FastifyInstance } from 'fastify';
import './route-config.js';

/**
 * MikroORM's request context (an EntityManager fork per request, as @mikro-orm/nestjs's middleware makes
 * it, in the same onRequest phase middie ran it in) on every route that does not declare
 * NO_REQUEST_CONTEXT. A Fastify hook rather than Nest middleware: with middleware, middie's engine
 * matched every request's path against the middleware's routes and exclusions, ~5% of a worker's CPU in
 * a claim rush; creating the context on the claim cost another ~3%.
 */
export function requestContext(fastify: FastifyInstance, orm: MikroORM): void {
  fastify.addHook('onRequest', (request, _reply, done) => {
    if (request.routeOptions.config?.requestContext === false) return done();
    RequestContext.create(orm.em, done);
  });
}
