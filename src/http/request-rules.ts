import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { IncomingHttpHeaders } from 'node:http';
import { AppError } from '../common/errors.js';
import { sendError } from '../common/exception.filter.js';
import { jsonBodyParser } from '../common/validation.js';
import './route-config.js';

/**
 * Multipart/form-data to a route that does not declare READS_MULTIPART, or without the boundary its parts
 * are split on (the parser would throw a plain Error: a 500), is 415 UNSUPPORTED_MEDIA_TYPE. Other
 * requests pass with one header read.
 */
export function refuseUnreadMultipart(request: FastifyRequest): AppError | undefined {
  const type = request.headers['content-type'];
  if (type === undefined || !/^\s*multipart\/form-data/i.test(type) || request.is404) return undefined;
  if (!request.routeOptions.config?.readsMultipart)
    return new AppError(
      'UNSUPPORTED_MEDIA_TYPE',
      'This route does not take multipart/form-data; send application/json',
    );
  if (!/;\s*boundary=/i.test(type))
    return new AppError('UNSUPPORTED_MEDIA_TYPE', 'multipart/form-data needs its boundary parameter');
  return undefined;
}

/** A Content-Encoding other than identity: the body would be compressed (refused, 415). */
export function encodedBody(headers: IncomingHttpHeaders): boolean {
  const encoding = headers['content-encoding'];
  return encoding !== undefined && encoding.trim().toLowerCase() !== 'identity';
}

/**
 * What a request may be before anything reads it: not in a worker that is shutting down (503 with
 * Connection: close: nothing was done, Nginx retries a GET elsewhere, a client retries a POST on a new
 * connection, which reaches another worker), not compressed (a compressed body would be parsed as
 * garbage, or stored as an image), multipart only where a route reads it. And how a JSON body is read
 * (src/common/validation.ts's parser: depth, lone surrogates, prototype keys); there is no form-encoded
 * or text parser, so any other body type is 415.
 */
export function requestRules(fastify: FastifyInstance): { closing(): boolean } {
  let closing = false;
  fastify.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  fastify.addHook('onRequest', (request, reply, done) => {
    if (closing) {
      void reply.header('connection', 'close');
      return sendError(request, reply, new AppError('SERVICE_UNAVAILABLE', 'This server is shutting down; retry'), {
        log: false,
      });
    }
    if (encodedBody(request.headers)) {
      const encoding = request.headers['content-encoding']!;
      return sendError(
        request,
        reply,
        new AppError(
          'UNSUPPORTED_MEDIA_TYPE',
          `Content-Encoding ${encoding.slice(0, 40)} is not supported; send the body uncompressed`,
        ),
        { log: false },
      );
    }
    const unreadMultipart = refuseUnreadMultipart(request);
    if (unreadMultipart) return sendError(request, reply, unreadMultipart, { log: false });
    done();
  });
  fastify.removeContentTypeParser(['text/plain', 'application/json']);
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, jsonBodyParser(fastify));
  return { closing: () => closing };
}
