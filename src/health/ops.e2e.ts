import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricsRegistry } from '../metrics/metrics.js';
import { startTestApp, type TestApp } from '../testing/app.js';
import { testPort } from '../testing/cluster.js';
import { OwnRedis } from '../testing/own-services.js';
import { until } from '../testing/poll.js';

describe('ops endpoints', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t?.close());

  it('/metrics counts requests by route template and status, with process metrics', async () => {
    await t.http.get('/api/general/products');
    await t.http.get('/api/general/products/9223372036854775807');
    await t.http.get('/api/general/products/abc');
    await t.http.get('/api/general/no-such-route-xyz');
    const metrics = await t.http.get<string>('/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = metrics.body;
    const counter = (route: string, status: number) => new RegExp(`^pick_http_requests_total\\{[^}]*route="${route.replace(/[/:]/g, '\\$&')}"[^}]*status="${status}"[^}]*\\} [1-9]\\d*$`, 'm');
    expect(text).toMatch(counter('/api/general/products', 200));
    expect(text).toMatch(counter('/api/general/products/:id', 404));
    expect(text).toMatch(counter('/api/general/products/:id', 400));
    // Raw ids and unknown paths never become label values (unbounded cardinality).
    expect(text).not.toContain('9223372036854775807');
    expect(text).not.toContain('no-such-route-xyz');
    expect(text).toMatch(/^pick_http_request_duration_seconds_bucket\{/m);
    expect(text).toMatch(/^pick_process_resident_memory_bytes/m);
  });

  it('/docs serves the OpenAPI UI and /docs-json lists every endpoint', async () => {
    const ui = await t.http.get<string>('/docs');
    expect(ui.status).toBe(200);
    expect(ui.headers.get('content-type')).toMatch(/text\/html/);
    expect(ui.body).toMatch(/swagger-ui/i);
    const doc = await t.http.get('/docs-json');
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toMatch(/^3\./);
    const operations = Object.entries(doc.body.paths as Record<string, Record<string, unknown>>).flatMap(([path, methods]) => Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`));
    expect(operations).toEqual(
      expect.arrayContaining([
        'POST /api/auth/signup',
        'POST /api/auth/login',
        'POST /api/auth/token/refresh',
        'POST /api/auth/logout',
        'GET /api/general/products',
        'GET /api/general/products/{id}',
        'POST /api/seller/products',
        'PATCH /api/seller/products/{id}',
        'DELETE /api/seller/products/{id}',
        'GET /health/live',
        'GET /health/ready',
      ]),
    );
    expect(doc.body.components.securitySchemes).toHaveProperty('bearer');
  });

  it('/health/ready is 200 with every check up', async () => {
    const ready = await t.http.get('/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ status: 'ok', checks: { mysql: { status: 'up' }, redis: { status: 'up' } } });
  });
});

describe('health when Redis dies (own Redis instance)', () => {
  const port = testPort(21);
  const redis = new OwnRedis(port, { aof: false });
  let t: TestApp;

  beforeAll(async () => {
    await redis.start();
    t = await startTestApp({ REDIS_PORT: String(port), REDIS_DB: '0' });
  });
  afterAll(async () => {
    if (!redis.running) await redis.start().catch(() => undefined); // let the app close cleanly
    await t?.close();
    await redis.kill();
  });

  it('answers 503 with the failing check, keeps serving the catalog, and recovers when Redis returns', async () => {
    const member = await t.http.member('CUSTOMER');
    expect((await t.http.get('/health/ready')).status).toBe(200);

    await redis.kill();
    const down = await until('ready 503', () => t.http.get('/health/ready'), (r) => r.status === 503, 20_000, 200);
    expect(down.body).toMatchObject({ statusCode: 503, code: 'SERVICE_UNAVAILABLE', requestId: expect.any(String), status: 'unavailable', checks: { mysql: { status: 'up' }, redis: { status: 'down' } } });
    expect(down.headers.get('x-request-id')).toBe(down.body.requestId);
    expect((await t.http.get('/health/live')).status).toBe(200);
    // The same checks as metrics; a scrape still answers (the Redis-backed gauges are bounded and left empty).
    const scrapeStarted = Date.now();
    const metrics = await metricsRegistry.metrics();
    console.log(`scrape with Redis down: ${Date.now() - scrapeStarted} ms`);
    expect(Date.now() - scrapeStarted).toBeLessThan(5_000);
    expect(metrics).toMatch(/^pick_ready\{[^}]*\} 0$/m);
    expect(metrics).toMatch(/^pick_readiness_check_up\{[^}]*check="redis"[^}]*\} 0$/m);
    expect(metrics).toMatch(/^pick_readiness_check_up\{[^}]*check="mysql"[^}]*\} 1$/m);
    // The catalog is MySQL: still served.
    expect((await t.http.get('/api/general/products')).status).toBe(200);
    // Login needs Redis (refresh tokens): a 503 the client may retry, not a 500.
    const login = await t.http.post('/api/auth/login', { email: member.email, password: 'password123' });
    expect({ status: login.status, code: login.body.code }).toEqual({ status: 503, code: 'SERVICE_UNAVAILABLE' });

    await redis.start();
    await until('ready 200 again', () => t.http.get('/health/ready'), (r) => r.status === 200, 20_000, 200);
    expect(await metricsRegistry.metrics()).toMatch(/^pick_ready\{[^}]*\} 1$/m);
    expect((await t.http.post('/api/auth/login', { email: member.email, password: 'password123' })).status).toBe(200);
  });
});

describe('boot while Redis is down (own Redis port)', () => {
  const port = testPort(24); // not 22: 4222 is NATS's default port
  const redis = new OwnRedis(port, { aof: false });
  let t: TestApp | undefined;

  afterAll(async () => {
    await t?.close();
    await redis.kill();
  });

  it('starts and serves the catalog from MySQL, then connects the transport when Redis comes up', async () => {
    t = await startTestApp({ REDIS_PORT: String(port), REDIS_DB: '0' });
    expect((await t.http.get('/health/live')).status).toBe(200);
    expect((await t.http.get('/api/general/products')).status).toBe(200);
    const ready = await t.http.get('/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.body.checks.redis.status).toBe('down');
    expect(ready.body.checks.transport.status).toBe('down');

    await redis.start();
    await until('ready 200', () => t!.http.get('/health/ready'), (r) => r.status === 200, 20_000, 200);
    // The app's own client plus the transport's subscriber and publisher connections.
    const connections = () => redis.cli('client', 'list').trim().split('\n').filter((line) => line.includes('cmd=') && !line.includes('cmd=client')).length;
    const clients = await until('transport connected', connections, (n) => n >= 3, 20_000, 200);
    expect(clients).toBeGreaterThanOrEqual(3);
  });
});
