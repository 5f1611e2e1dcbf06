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
    const counter = (route: string, status: number) =>
      new RegExp(
        `^pick_http_requests_total\\{[^}]*route="${route.replace(/[/:]/g, '\\$&')}"[^}]*status="${status}"[^}]*\\} [1-9]\\d*$`,
        'm',
      );
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
    const operations = Object.entries(doc.body.paths as Record<string, Record<string, unknown>>).flatMap(
      ([path, methods]) => Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    );
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
  const opsToken = 'ops-token-redis-dies-0123456789';
  const port = testPort(21);
  const redis = new OwnRedis(port, { aof: false });
  let t: TestApp;

  beforeAll(async () => {
    await redis.start();
    t = await startTestApp({ REDIS_PORT: String(port), REDIS_DB: '0', OPS_TOKEN: opsToken });
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
    const down = await until(
      'ready 503',
      () => t.http.get('/health/ready', opsToken),
      (r) => r.status === 503,
      20_000,
      200,
    );
    expect(down.body).toMatchObject({
      statusCode: 503,
      code: 'SERVICE_UNAVAILABLE',
      requestId: expect.any(String),
      status: 'unavailable',
      checks: { mysql: { status: 'up' }, redis: { status: 'down', error: expect.any(String) } },
    });
    expect(down.headers.get('x-request-id')).toBe(down.body.requestId);
    // Without the ops token: the status alone, nothing about which dependency failed or why.
    const anonymous = await t.http.get('/health/ready');
    expect(anonymous.status).toBe(503);
    expect(anonymous.body).toEqual({
      statusCode: 503,
      code: 'SERVICE_UNAVAILABLE',
      message: 'not ready',
      status: 'unavailable',
      requestId: expect.any(String),
    });
    expect(JSON.stringify(anonymous.body)).not.toMatch(/redis|ECONNREFUSED|mysql|checks/i);
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
    await until(
      'ready 200 again',
      () => t.http.get('/health/ready'),
      (r) => r.status === 200,
      20_000,
      200,
    );
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
    await until(
      'ready 200',
      () => t!.http.get('/health/ready'),
      (r) => r.status === 200,
      20_000,
      200,
    );
    // The app's own client plus the transport's subscriber and publisher connections.
    const connections = () =>
      redis
        .cli('client', 'list')
        .trim()
        .split('\n')
        .filter((line) => line.includes('cmd=') && !line.includes('cmd=client')).length;
    const clients = await until('transport connected', connections, (n) => n >= 3, 20_000, 200);
    expect(clients).toBeGreaterThanOrEqual(3);
  });
});

describe('the production surface (NODE_ENV=production defaults, OPS_TOKEN set)', () => {
  const opsToken = 'ops-token-for-the-e2e-0123456789';
  const logLines: string[] = [];
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(
      {
        NODE_ENV: 'production',
        JWT_ACCESS_SECRET: 'a-production-access-secret',
        JWT_REFRESH_SECRET: 'a-production-refresh-secret',
        OPS_TOKEN: opsToken,
        LOG_LEVEL: 'debug',
      },
      { logLines },
    );
  });
  afterAll(() => t?.close());

  it('has no /docs or /docs-json (DOCS_ENABLED defaults to false in production)', async () => {
    expect(t.config.DOCS_ENABLED).toBe(false);
    const ui = await t.http.get('/docs');
    expect({ status: ui.status, code: ui.body.code }).toEqual({ status: 404, code: 'NOT_FOUND' });
    expect((await t.http.get('/docs-json')).status).toBe(404);
  });

  it('sends no x-served-by (SERVED_BY_HEADER defaults to false in production), still x-request-id', async () => {
    const live = await t.http.get('/health/live');
    expect(live.status).toBe(200);
    expect(live.body).toEqual({ status: 'ok' });
    expect(live.headers.get('x-served-by')).toBeNull();
    expect(live.headers.get('x-request-id')).toBeTruthy();
  });

  it('/metrics needs the ops token: 401 without it or with a wrong one, 200 with it', async () => {
    const none = await t.http.get('/metrics');
    expect({ status: none.status, code: none.body.code }).toEqual({ status: 401, code: 'UNAUTHORIZED' });
    const wrong = await t.http.get('/metrics', 'ops-token-for-the-e2e-0123456780');
    expect(wrong.status).toBe(401);
    const right = await t.http.get<string>('/metrics', opsToken);
    expect(right.status).toBe(200);
    expect(right.body).toMatch(/^pick_http_requests_total\{/m);
  });

  it('/health/ready: the status alone without the token, the checks with it', async () => {
    const anonymous = await t.http.get('/health/ready');
    expect(anonymous.status).toBe(200);
    expect(anonymous.body).toEqual({ status: 'ok' });
    const wrong = await t.http.get('/health/ready', 'not-the-ops-token-at-all');
    expect(wrong.body).toEqual({ status: 'ok' });
    const ops = await t.http.get('/health/ready', opsToken);
    expect(ops.status).toBe(200);
    expect(ops.body).toMatchObject({
      status: 'ok',
      draining: false,
      checks: { mysql: { status: 'up' }, redis: { status: 'up' }, storage: { status: 'up' } },
    });
  });

  it('believes X-Forwarded-For only from TRUSTED_PROXIES (default loopback): the request log line carries the ip', async () => {
    expect(t.config.TRUSTED_PROXIES).toEqual(['127.0.0.1', '::1']);
    await t.http.request('GET', '/health/live', {
      headers: { 'x-request-id': 'ops-xff-trusted', 'x-forwarded-for': '203.0.113.7' },
    });
    const line = await until(
      'request log line',
      () => logLines.find((l) => l.includes('"ops-xff-trusted"')),
      (l) => l !== undefined,
      5000,
      20,
    );
    expect(JSON.parse(line!)).toMatchObject({ requestId: 'ops-xff-trusted', status: 200, ip: '203.0.113.7' });
  });
});

describe('TRUSTED_PROXIES without loopback: a local client cannot pick its address', () => {
  const logLines: string[] = [];
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ TRUSTED_PROXIES: '10.0.0.10, fd00::10/128', LOG_LEVEL: 'debug' }, { logLines });
  });
  afterAll(() => t?.close());

  it('ignores X-Forwarded-For from an untrusted peer: request.ip is the socket peer', async () => {
    await t.http.request('GET', '/health/live', {
      headers: { 'x-request-id': 'ops-xff-untrusted', 'x-forwarded-for': '203.0.113.7' },
    });
    const line = await until(
      'request log line',
      () => logLines.find((l) => l.includes('"ops-xff-untrusted"')),
      (l) => l !== undefined,
      5000,
      20,
    );
    expect(JSON.parse(line!)).toMatchObject({ requestId: 'ops-xff-untrusted', ip: '127.0.0.1' });
  });
});

describe('request log lines at LOG_LEVEL=info: 5xx and slow requests only', () => {
  const logLines: string[] = [];
  let t: TestApp;
  beforeAll(async () => {
    // 1 ms: a signup (a password hash, tens of ms) is always slower; the threshold is what is tested.
    t = await startTestApp({ LOG_LEVEL: 'info', SLOW_REQUEST_LOG_MS: '1' }, { logLines });
  });
  afterAll(() => t?.close());

  it('logs a slow request as one JSON line with request id, worker, route, status and latency, no secrets', async () => {
    const tag = String(Date.now()).slice(-7);
    const member = await t.http.member();
    // A login verifies a password hash: tens of milliseconds, always over the 1 ms threshold.
    const login = await t.http.request<{ accessToken: string; refreshToken: string }>('POST', '/api/auth/login', {
      headers: { 'x-request-id': `ops-slow-${tag}` },
      body: { email: member.email, password: 'password123' },
    });
    expect(login.status).toBe(200);
    const line = await until(
      'slow request log line',
      () => logLines.find((l) => l.includes(`"ops-slow-${tag}"`)),
      (l) => l !== undefined,
      5000,
      20,
    );
    const entry = JSON.parse(line!);
    expect(entry).toMatchObject({
      msg: 'request',
      requestId: `ops-slow-${tag}`,
      method: 'POST',
      route: '/api/auth/login',
      status: 200,
      slow: true,
      pid: process.pid,
    });
    // worker: PM2's pm_id (absent outside PM2, as in this test process).
    expect(entry.worker).toBe(process.env.pm_id);
    expect(entry.ms).toBeGreaterThanOrEqual(1);
    for (const secret of ['password123', login.body.accessToken, login.body.refreshToken, member.email])
      expect(line).not.toContain(secret);
  });

  it('logs no line for a request under the threshold (the default 1000 ms keeps the hot path quiet)', async () => {
    const quiet = await startTestApp({ LOG_LEVEL: 'info' }, { logLines });
    try {
      expect(quiet.config.SLOW_REQUEST_LOG_MS).toBe(1000);
      const live = await quiet.http.request('GET', '/health/live', { headers: { 'x-request-id': 'ops-quiet-live' } });
      expect(live.status).toBe(200);
      // The line would be written in the response's onResponse hook, before the next request is read.
      await quiet.http.get('/health/live');
      expect(logLines.some((l) => l.includes('"ops-quiet-live"'))).toBe(false);
    } finally {
      await quiet.close();
    }
  });
});
