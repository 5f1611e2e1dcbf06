import type { FastifyInstance } from 'fastify';
import type { AppConfig } from '../../config/env.js';
import { httpDuration, httpRequests } from '../metrics/metrics.js';

/**
 * Every answer is counted and timed by route (pick_http_requests_total, pick_http_request_duration_seconds).
 * A log line for every request at debug/trace; at info only 5xx and slow requests (a line per request
 * would cost the hot path more than the cache saves).
 */
export function accessLog(
  fastify: FastifyInstance,
  config: Pick<AppConfig, 'LOG_LEVEL' | 'SLOW_REQUEST_LOG_MS'>,
): void {
  const everyRequest = config.LOG_LEVEL === 'debug' || config.LOG_LEVEL === 'trace';
  // One pair of label children per method, route and status (a bounded set: routes are templates), so a
  // request does not pay for prom-client hashing its labels twice.
  const series = new Map<string, { count: { inc(): void }; time: { observe(seconds: number): void } }>();
  fastify.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const key = `${request.method} ${reply.statusCode} ${route}`;
    let children = series.get(key);
    if (!children) {
      const labels = { method: request.method, route, status: String(reply.statusCode) };
      children = { count: httpRequests.labels(labels), time: httpDuration.labels(labels) };
      series.set(key, children);
    }
    children.count.inc();
    children.time.observe(reply.elapsedTime / 1000);
    const slow = config.SLOW_REQUEST_LOG_MS > 0 && reply.elapsedTime >= config.SLOW_REQUEST_LOG_MS;
    if (reply.statusCode >= 500 || slow || everyRequest) {
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
}
