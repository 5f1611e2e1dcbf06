import type { FastifyInstance } from 'fastify';
import type { AppConfig } from '../../config/env.js';
import { httpDuration, httpRequests } from '../metrics/metrics.js';

/** Where a line goes: the request's logger. */
export interface RequestLog {
  info(fields: object, message: string): void;
}

/** What the access log knows of an answered request (the line's fields). */
export interface AnsweredRequest {
  requestId: string;
  method: string;
  /** the route template (`/api/general/products/:id`), or `unmatched` */
  route: string;
  url: string;
  status: number;
  ms: number;
  /** the client: the socket's peer, or the address a trusted proxy forwarded */
  ip: string | undefined;
}

/**
 * Every answer is counted and timed by route (pick_http_requests_total, pick_http_request_duration_seconds).
 * A log line for every request at debug/trace; at info only 5xx and slow requests (a line per request
 * would cost the hot path more than the cache saves). One per app, shared by Fastify's onResponse hook
 * (`accessLog`) and the hot routes (src/http/hot-routes.ts), so both count and log alike.
 */
export class AccessLog {
  private readonly everyRequest: boolean;
  // One pair of label children per method, route and status (a bounded set: routes are templates), so a
  // request does not pay for prom-client hashing its labels twice.
  private readonly series = new Map<string, { count: { inc(): void }; time: { observe(seconds: number): void } }>();

  constructor(private readonly config: Pick<AppConfig, 'LOG_LEVEL' | 'SLOW_REQUEST_LOG_MS'>) {
    this.everyRequest = config.LOG_LEVEL === 'debug' || config.LOG_LEVEL === 'trace';
  }

  /** Counts the answer; true when it also gets a log line (`line`). */
  count(method: string, route: string, status: number, ms: number): boolean {
    const key = `${method} ${status} ${route}`;
    let children = this.series.get(key);
    if (!children) {
      const labels = { method, route, status: String(status) };
      children = { count: httpRequests.labels(labels), time: httpDuration.labels(labels) };
      this.series.set(key, children);
    }
    children.count.inc();
    children.time.observe(ms / 1000);
    return status >= 500 || this.slow(ms) || this.everyRequest;
  }

  line(log: RequestLog, answered: AnsweredRequest): void {
    const slow = this.slow(answered.ms);
    log.info({ ...answered, ms: Math.round(answered.ms), ...(slow && { slow: true }) }, 'request');
  }

  private slow(ms: number): boolean {
    return this.config.SLOW_REQUEST_LOG_MS > 0 && ms >= this.config.SLOW_REQUEST_LOG_MS;
  }
}

/** The access log for every request Fastify answers (onResponse). */
export function accessLog(fastify: FastifyInstance, log: AccessLog): void {
  fastify.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    if (log.count(request.method, route, reply.statusCode, reply.elapsedTime))
      log.line(request.log, {
        requestId: request.id,
        method: request.method,
        route,
        url: request.url,
        status: reply.statusCode,
        ms: reply.elapsedTime,
        ip: request.ip,
      });
    done();
  });
}
