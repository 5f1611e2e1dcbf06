import multipart from '@fastify/multipart';
import { MikroORM, RequestContext } from '@mikro-orm/core';
import { ConsoleLogger, Logger, LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MicroserviceOptions, Transport } from '@nestjs/microservices';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { SwaggerModule } from '@nestjs/swagger';
import { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import type { AppConfig } from '../config/env.js';
import { AppModule } from './app.module.js';
import { CatalogFastPath } from './catalog/catalog-fast-path.js';
import { AppError } from './common/errors.js';
import { clientErrorBody, toErrorBody } from './common/exception.filter.js';
import {
  jsonBodyParser,
  objectBody,
  refuseUnreadMultipart,
  UndeclaredQueryGuard,
  validationPipe,
} from './common/validation.js';
import { httpDuration, httpRequests } from './metrics/metrics.js';
import { buildOpenApiDocument } from './openapi/document.js';
import { redisOptions } from './redis/redis-options.js';
import { TransportState } from './redis/transport-state.js';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

function nestLogLevels(level: AppConfig['LOG_LEVEL']): LogLevel[] {
  const order: LogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];
  const upTo = { silent: -1, fatal: 0, error: 1, warn: 2, info: 3, debug: 4, trace: 5 }[level] ?? 3;
  return order.slice(0, upTo + 1);
}

/**
 * Builds the hybrid app (HTTP + Redis-transport microservice) without listening, so the
 * PM2 entry point and the tests start exactly the same thing (`logStream`: where Fastify's JSON log
 * lines go instead of stdout; tests only).
 */
export async function createApp(
  config: AppConfig,
  options: { logStream?: { write(line: string): void } } = {},
): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: config.BODY_LIMIT_BYTES,
    // Only the configured proxies' X-Forwarded-For/-Proto are believed (Nginx sets X-Forwarded-For to the
    // peer it saw, never appending what a client sent): request.ip is the real client, not a spoofed one.
    trustProxy: [...config.TRUSTED_PROXIES],
    forceCloseConnections: 'idle',
    // Requests that still arrive on open keep-alive connections while closing get the API's own
    // 503 below: Fastify's built-in one has no `code`.
    return503OnClosing: false,
    logController: new LogController({ disableRequestLogging: true }),
    requestIdHeader: false,
    // No Nest middleware (MikroORM's request context is the hook below): without middie, no request
    // pays for its engine matching the path against the middleware's routes.
    skipMiddie: true,
    // Errors Fastify answers before routing (a path that is not valid percent-encoding): same JSON as the filter's.
    frameworkErrors: (error: Error, request: FastifyRequest, reply: FastifyReply) => {
      const body = { ...toErrorBody(error), requestId: String(request.id) };
      void reply.status(body.statusCode).header('x-request-id', request.id).send(body);
    },
    // Errors Node's HTTP parser raises before there is a request (431 headers too large, 408 too slow, 400
    // not HTTP): Fastify's own answer has no `code`, `requestId` or x-request-id.
    clientErrorHandler: answerClientError,
    genReqId: (request: { headers: Record<string, string | string[] | undefined> }) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    // logStream: tests read the request log lines (stdout otherwise).
    logger: {
      level: config.LOG_LEVEL,
      base: { pid: process.pid, worker: process.env.pm_id },
      ...(options.logStream && { stream: options.logStream }),
    },
  });
  const fastify = adapter.getInstance();
  // The onRequest hooks below run in the order they are added, before Nest's pipeline: a request
  // refused here, and a catalog cache hit, never pay for MikroORM's request context (the last one).
  // x-served-by tells ops (and the topology tests) which server and worker answered; off in production
  // by default (SERVED_BY_HEADER): host names and process ids are nobody else's business.
  const servedBy = config.SERVED_BY_HEADER
    ? `${hostname()}/${process.env.PICK_APP_NAME ?? 'pick'}/${process.env.pm_id ?? process.pid}`
    : undefined;
  let closing = false;
  fastify.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  const refuse = (request: FastifyRequest, reply: FastifyReply, error: AppError) => {
    const body = { ...toErrorBody(error), requestId: String(request.id) };
    void reply.status(body.statusCode).send(body);
  };
  fastify.addHook('onRequest', (request, reply, done) => {
    void reply.header('x-request-id', request.id);
    if (servedBy) void reply.header('x-served-by', servedBy);
    if (closing) {
      // Nothing was done: Nginx retries a GET elsewhere, a client retries a POST (a new connection
      // reaches another worker: this one's listener is closed).
      void reply.header('connection', 'close').header('retry-after', '1');
      return refuse(request, reply, new AppError('SERVICE_UNAVAILABLE', 'This server is shutting down; retry'));
    }
    // Bodies are read as sent: a compressed one would be parsed as garbage (or stored as an image).
    const encoding = request.headers['content-encoding'];
    if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
      return refuse(
        request,
        reply,
        new AppError(
          'UNSUPPORTED_MEDIA_TYPE',
          `Content-Encoding ${encoding.slice(0, 40)} is not supported; send the body uncompressed`,
        ),
      );
    }
    const unreadMultipart = refuseUnreadMultipart(request);
    if (unreadMultipart) return refuse(request, reply, unreadMultipart);
    done();
  });
  // Cache hits of the public catalog reads, answered before Nest (CatalogFastPath); its provider
  // exists once the app is created, and no request arrives before that.
  const provided: { catalogFastPath?: CatalogFastPath } = {};
  fastify.addHook('onRequest', (request, reply, done) =>
    provided.catalogFastPath ? provided.catalogFastPath.onRequest(request, reply, done) : done(),
  );

  // bodyParser: false — no form-encoded parser: the API speaks JSON (and multipart where a route
  // registers it); any other body type gets 415 UNSUPPORTED_MEDIA_TYPE instead of being half-parsed.
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), adapter, {
    bodyParser: false,
    logger: new ConsoleLogger({ json: true, colors: false, logLevels: nestLogLevels(config.LOG_LEVEL) }),
  });
  fastify.removeContentTypeParser(['text/plain', 'application/json']);
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, jsonBodyParser(fastify));

  fastify.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const labels = { method: request.method, route, status: String(reply.statusCode) };
    httpRequests.inc(labels);
    httpDuration.observe(labels, reply.elapsedTime / 1000);
    // Every request at debug/trace; at info only 5xx and slow requests (a line per request would cost
    // the hot path more than the cache saves). Counts and latencies of every request are in the metrics.
    const slow = config.SLOW_REQUEST_LOG_MS > 0 && reply.elapsedTime >= config.SLOW_REQUEST_LOG_MS;
    if (reply.statusCode >= 500 || slow || config.LOG_LEVEL === 'debug' || config.LOG_LEVEL === 'trace') {
      // ip: the client as the app sees it (the socket's peer, or the address a trusted proxy forwarded).
      request.log.info(
        {
          requestId: request.id,
          method: request.method,
          route,
          url: request.url,
          status: reply.statusCode,
          ms: Math.round(reply.elapsedTime),
          ip: request.ip,
          ...(slow && { slow: true }),
        },
        'request',
      );
    }
    done();
  });

  const catalogFastPath = app.get(CatalogFastPath);
  catalogFastPath.attach(fastify);
  provided.catalogFastPath = catalogFastPath;
  requestContext(fastify, app.get(MikroORM));

  app.useGlobalPipes(objectBody, validationPipe);
  app.useGlobalGuards(new UndeclaredQueryGuard());
  app.enableShutdownHooks();
  const transport = app.connectMicroservice<MicroserviceOptions>(
    {
      transport: Transport.REDIS,
      options: { ...redisOptions(config), retryAttempts: Number.MAX_SAFE_INTEGER, retryDelay: 1000 },
    },
    { inheritAppConfig: true },
  );
  app.get(TransportState).watch(transport);

  // The same document as the committed src/openapi/openapi.json (`npm run openapi`; CI checks they agree).
  // Off in production unless DOCS_ENABLED: the committed document is what clients build against.
  if (config.DOCS_ENABLED) SwaggerModule.setup('docs', app, buildOpenApiDocument(app));
  // Image uploads (src/media): streamed parts, limits enforced while reading.
  await app.register(multipart, {
    limits: {
      fileSize: config.UPLOAD_MAX_BYTES,
      files: config.UPLOAD_MAX_FILES,
      fields: 0,
      parts: config.UPLOAD_MAX_FILES + 1,
    },
  });
  return app;
}

/**
 * Writes the app's error shape straight to the socket, as the Node docs ask of a 'clientError'
 * listener (there is no request to answer), with a fresh x-request-id, then closes the connection.
 */
function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const requestId = randomUUID();
  const answer = { ...clientErrorBody(error), requestId };
  const body = JSON.stringify(answer);
  socket.end(
    `HTTP/1.1 ${answer.statusCode} ${STATUS_CODES[answer.statusCode]}\r\ncontent-type: application/json; charset=utf-8\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\nx-request-id: ${requestId}\r\nconnection: close\r\n\r\n${body}`,
  );
}

/** Starts the transport and, unless this is a worker-only process, the HTTP listener. */
export async function startApp(app: NestFastifyApplication, config: AppConfig): Promise<void> {
  await startTransport(app, config);
  if (config.HTTP_ENABLED) {
    await app.listen({ port: config.PORT, host: config.HOST });
    Logger.log(`listening on http://${config.HOST}:${config.PORT}`, 'Bootstrap');
  } else {
    await app.init();
    Logger.log('worker-only process: no HTTP listener', 'Bootstrap');
  }
}

/** Whether Redis accepts a connection and answers PING right now (one try, short timeouts). */
async function redisAnswers(config: AppConfig): Promise<boolean> {
  const probe = new Redis({
    ...redisOptions(config),
    lazyConnect: true,
    connectTimeout: 1000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    sentinelRetryStrategy: () => null,
  });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

/**
 * Connects the Redis transport (broadcasts). With Redis unreachable at boot, the worker still
 * starts and serves from MySQL (caches then rely on their TTL), and connects the transport once
 * Redis answers; otherwise a Redis outage would crash-loop every restarting worker until PM2
 * gave up on it for good.
 */
async function startTransport(app: NestFastifyApplication, config: AppConfig): Promise<void> {
  if (await redisAnswers(config)) {
    await app.startAllMicroservices();
    return;
  }
  const logger = new Logger('Bootstrap');
  logger.warn('Redis is unreachable: starting without the broadcast transport, retrying every second');
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onClose', (_instance, done) => {
      closed = true;
      clearTimeout(timer);
      done();
    });
  const retry = async () => {
    if (closed) return;
    if (await redisAnswers(config)) {
      if (closed) return;
      try {
        await app.startAllMicroservices();
        logger.log('broadcast transport connected');
        return;
      } catch (error) {
        logger.warn(`broadcast transport: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    if (!closed) timer = setTimeout(() => void retry(), 1000).unref();
  };
  timer = setTimeout(() => void retry(), 1000).unref();
}

/** The claim: it never uses the request's EntityManager (its one read, a snapshot miss, forks its own). */
const CLAIM_ROUTE = '/api/events/:eventId/coupons/:couponId/issue';

/**
 * MikroORM's request context (an EntityManager fork per request, as @mikro-orm/nestjs's middleware
 * makes it, in the same onRequest phase middie ran it in) on every route but a rush's hottest.
 * A Fastify hook rather than Nest middleware: with middleware, middie's engine matched every
 * request's path against the middleware's routes and exclusions, ~5% of a worker's CPU in a claim
 * rush; creating the context on the claim cost another ~3%.
 */
function requestContext(fastify: FastifyInstance, orm: MikroORM): void {
  let claimRouteSeen = false;
  fastify.addHook('onRoute', (route) => {
    if (route.url === CLAIM_ROUTE && route.method === 'POST') claimRouteSeen = true;
  });
  // A renamed route would silently get a request context again: refuse to start instead.
  fastify.addHook('onReady', (done) =>
    done(claimRouteSeen ? undefined : new Error(`request context: no POST route ${CLAIM_ROUTE}`)),
  );
  fastify.addHook('onRequest', (request, _reply, done) => {
    if (request.method === 'POST' && request.routeOptions.url === CLAIM_ROUTE) return done();
    RequestContext.create(orm.em, done);
  });
}
