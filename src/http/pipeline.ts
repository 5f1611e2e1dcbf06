import multipart from '@fastify/multipart';
import { MikroORM } from '@mikro-orm/core';
import type { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { SwaggerModule } from '@nestjs/swagger';
import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';
import type { AppConfig } from '../../config/env.js';
import { objectBody, UndeclaredQueryGuard, validationPipe } from '../common/validation.js';
import { buildOpenApiDocument } from '../openapi/document.js';
import { AccessLog, accessLog } from './access-log.js';
import { answerClientError, frameworkErrors } from './client-errors.js';
import { HotRoutes, hotRoutes } from './hot-routes.js';
import { requestContext } from './request-context.js';
import { requestIdHeaders, requestIdOf, servedByHeader } from './request-id.js';
import { requestRules } from './request-rules.js';

/**
 * The HTTP pipeline, as small Fastify plugins (this folder) composed in one order. `bootstrap.ts` calls
 * these two and names no feature: a feature declares what its routes need (route config, src/http/
 * route-config.ts; hot routes, src/http/hot-routes.ts) and the plugins read the declarations.
 *
 * The hot routes are answered first, by the server's request listener (hot-routes.ts), with the same
 * request id, error shape, access log and metrics; every other request goes to Fastify, whose onRequest
 * hooks run in the order they are added, before Nest's pipeline: request id, then the request rules
 * (shutdown, encoding, multipart), then MikroORM's request context. A request refused early, and a hot
 * answer, never pay for what comes after.
 */

/** Fastify's own options: limits, the trusted proxies, request ids, the framework's errors, the logger. */
export function httpAdapterOptions(
  config: AppConfig,
  options: { logStream?: { write(line: string): void } } = {},
): ConstructorParameters<typeof FastifyAdapter>[0] {
  return {
    bodyLimit: config.BODY_LIMIT_BYTES,
    // Only the configured proxies' X-Forwarded-For/-Proto are believed (Nginx sets X-Forwarded-For to the
    // peer it saw, never appending what a client sent): request.ip is the real client, not a spoofed one.
    trustProxy: [...config.TRUSTED_PROXIES],
    forceCloseConnections: 'idle',
    // Requests that still arrive on open keep-alive connections while closing get the API's own 503
    // (request-rules.ts): Fastify's built-in one has no `code`.
    return503OnClosing: false,
    logController: new LogController({ disableRequestLogging: true }),
    requestIdHeader: false,
    // No Nest middleware (MikroORM's request context is a hook): without middie, no request pays for its
    // engine matching the path against the middleware's routes.
    skipMiddie: true,
    frameworkErrors: (error, request, reply) =>
      frameworkErrors(error, request as FastifyRequest, reply as FastifyReply),
    clientErrorHandler: answerClientError,
    genReqId: requestIdOf,
    // logStream: tests read the request log lines (stdout otherwise).
    logger: {
      level: config.LOG_LEVEL,
      base: { pid: process.pid, worker: process.env.pm_id },
      ...(options.logStream && { stream: options.logStream }),
    },
  };
}

/** Installs the plugins on the created app (before it is initialised: its routes get every hook). */
export async function installHttpPipeline(app: NestFastifyApplication, config: AppConfig): Promise<void> {
  const fastify = app.getHttpAdapter().getInstance();
  const servedBy = servedByHeader(config);
  const log = new AccessLog(config);
  requestIdHeaders(fastify, servedBy);
  const rules = requestRules(fastify);
  hotRoutes(fastify, app.get(HotRoutes), {
    closing: rules.closing,
    servedBy,
    accessLog: log,
    trustedProxies: config.TRUSTED_PROXIES,
  });
  requestContext(fastify, app.get(MikroORM));
  accessLog(fastify, log);
  app.useGlobalPipes(objectBody, validationPipe);
  app.useGlobalGuards(new UndeclaredQueryGuard());
  // The same document as the committed src/openapi/openapi.json (`npm run openapi`; CI checks they agree).
  // Off in production unless DOCS_ENABLED: the committed document is what clients build against.
  if (config.DOCS_ENABLED) SwaggerModule.setup('docs', app, buildOpenApiDocument(app));
  // Multipart bodies (a route declaring READS_MULTIPART): streamed parts, limits enforced while reading.
  await app.register(multipart, {
    limits: {
      fileSize: config.UPLOAD_MAX_BYTES,
      files: config.UPLOAD_MAX_FILES,
      fields: 0,
      parts: config.UPLOAD_MAX_FILES + 1,
    },
  });
}
