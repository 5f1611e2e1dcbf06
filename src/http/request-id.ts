import type { FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { AppConfig } from '../../config/env.js';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Fastify's genReqId: a well-formed incoming x-request-id is kept (Nginx's, a client's), else a fresh UUID. */
export function requestIdOf(request: { headers: Record<string, string | string[] | undefined> }): string {
  const given = request.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

/** x-served-by's value (server, app, worker), or undefined when SERVED_BY_HEADER is off. */
export function servedByHeader(config: Pick<AppConfig, 'SERVED_BY_HEADER'>): string | undefined {
  return config.SERVED_BY_HEADER
    ? `${hostname()}/${process.env.PICK_APP_NAME ?? 'pick'}/${process.env.pm_id ?? process.pid}`
    : undefined;
}

/**
 * Every answer carries x-request-id (also in the log lines); x-served-by tells ops (and the topology
 * tests) which server and worker answered, off in production by default (SERVED_BY_HEADER): host names
 * and process ids are nobody else's business. The first onRequest hook: every answer has them.
 */
export function requestIdHeaders(fastify: FastifyInstance, servedBy: string | undefined): void {
  fastify.addHook('onRequest', (request, reply, done) => {
    void reply.header('x-request-id', request.id);
    if (servedBy) void reply.header('x-served-by', servedBy);
    done();
  });
}
