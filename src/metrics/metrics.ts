import { collectDefaultMetrics, Counter, Histogram, register } from 'prom-client';

// One registry per process; PM2 workers each expose their own, labelled by worker id.
register.setDefaultLabels({ worker: process.env.pm_id ?? process.env.NODE_APP_INSTANCE ?? '0' });
collectDefaultMetrics({ prefix: 'pick_' });

export const httpRequests = new Counter({
  name: 'pick_http_requests_total',
  help: 'HTTP requests by method, route and status',
  labelNames: ['method', 'route', 'status'],
});

export const httpDuration = new Histogram({
  name: 'pick_http_request_duration_seconds',
  help: 'HTTP request latency by method, route and status',
  labelNames: ['method', 'route', 'status'],
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
});

export { register as metricsRegistry };
