import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../src/testing/app.js';
import { openApiChecker } from '../src/testing/openapi-check.js';
import { testPort } from '../src/testing/cluster.js';
import { sleep, until } from '../src/testing/poll.js';
import { TestNginx } from './test/nginx.js';

/**
 * Nginx as the first line: the production template rendered with its default limits and TLS on (a
 * self-signed certificate made by the test), in front of the real app. Every request here comes
 * from 127.0.0.1, so the per-address limits are shared by the tests of this file (they wait for the
 * buckets to refill between bursts).
 */
const tlsPort = testPort(51);
const logLines: string[] = [];
let app: TestApp;
let nginx: TestNginx;

type Answer = Awaited<ReturnType<TestNginx['send']>>;
const json = (answer: Answer) =>
  JSON.parse(answer.body) as { statusCode: number; code: string; message: string; requestId: string };
/** The security headers nginx adds to every answer, the app's and its own refusals alike. */
function expectSecurityHeaders(headers: Answer['headers']): void {
  expect(headers['x-content-type-options']).toBe('nosniff');
  expect(headers['x-frame-options']).toBe('DENY');
  expect(headers['referrer-policy']).toBe('no-referrer');
}
const tally = (answers: Answer[]) =>
  answers.reduce<Record<number, number>>((counts, a) => ({ ...counts, [a.status]: (counts[a.status] ?? 0) + 1 }), {});

/** Bytes written as they are over TLS (what no HTTP client sends), and nginx's answer parsed. */
function sendRaw(port: number, caFile: string, bytes: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, servername: 'localhost', ca: readFileSync(caFile) }, () =>
      socket.write(bytes),
    );
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      const [head, body = ''] = Buffer.concat(chunks).toString('utf8').split('\r\n\r\n');
      const [statusLine, ...lines] = head.split('\r\n');
      const headers = Object.fromEntries(
        lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]),
      );
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body });
    });
  });
}

describe('edge: nginx in front of the app (TLS, limits, headers)', () => {
  beforeAll(async () => {
    // LOG_LEVEL=debug: the app logs a line per request with its requestId and the ip it believes.
    app = await startTestApp({ LOG_LEVEL: 'debug' }, { logLines });
    nginx = await new TestNginx('edge', testPort(50), [`127.0.0.1:${new URL(app.url).port}`], { tlsPort }).start();
  });
  afterAll(async () => {
    await nginx?.stop();
    await app?.close();
  });

  it('serves HTTPS with the configured certificate, HSTS, the security headers, and a Server header without a version', async () => {
    const live = await nginx.send('GET', `${nginx.url}/health/live`);
    expect(live.status).toBe(200);
    expect(JSON.parse(live.body)).toEqual({ status: 'ok' });
    expect(live.headers['strict-transport-security']).toBe('max-age=31536000');
    expectSecurityHeaders(live.headers);
    expect(live.headers.server).toBe('nginx');
    // nginx's own pages too (a 404 of the app passes through; the redirect is nginx's).
    const redirect = await nginx.send('GET', `${nginx.httpUrl}/`);
    expect(redirect.headers.server).toBe('nginx');
    expect(redirect.body).not.toMatch(/nginx\/\d/);
  });

  it('redirects plain HTTP to HTTPS with 301, keeping the path and query', async () => {
    const get = await nginx.send('GET', `${nginx.httpUrl}/api/general/products?sort=NEW&lastId=5`, {
      headers: { host: 'localhost' },
    });
    expect(get.status).toBe(301);
    expect(get.headers.location).toBe(`https://localhost:${tlsPort}/api/general/products?sort=NEW&lastId=5`);
    const post = await nginx.send('POST', `${nginx.httpUrl}/api/auth/login`, {
      headers: { host: 'localhost', 'content-type': 'application/json' },
      body: '{}',
    });
    expect(post.status).toBe(301);
    expect(post.headers.location).toBe(`https://localhost:${tlsPort}/api/auth/login`);
    // The local status page stays on plain HTTP for monitoring on the LB itself.
    expect((await nginx.send('GET', `${nginx.httpUrl}/nginx_status`)).status).toBe(200);
  });

  it('sends the app the peer it saw, not a spoofed X-Forwarded-For: the app logs the real client ip', async () => {
    const rid = `edge-xff-${Date.now().toString(36)}`;
    const answer = await nginx.send('GET', `${nginx.url}/health/live`, {
      headers: { 'x-request-id': rid, 'x-forwarded-for': '203.0.113.9', 'x-real-ip': '203.0.113.10' },
    });
    expect(answer.status).toBe(200);
    expect(answer.headers['x-request-id']).toBe(rid);
    const line = await until(
      'the app log line of the request',
      () => logLines.find((l) => l.includes(`"${rid}"`)),
      (l) => l !== undefined,
      5000,
      20,
    );
    const logged = JSON.parse(line!) as { ip: string; requestId: string };
    console.log(`[edge] spoofed X-Forwarded-For 203.0.113.9 → the app logged ip ${logged.ip} for ${rid}`);
    expect(logged).toMatchObject({ requestId: rid, ip: '127.0.0.1' });
    expect(readFileSync(nginx.accessLog, 'utf8')).toMatch(new RegExp(`^127\\.0\\.0\\.1 .*rid=${rid} `, 'm'));
  });

  it('refuses a 2 MiB login body with 413 PAYLOAD_TOO_LARGE (JSON) while the upload route takes it', async () => {
    const body = JSON.stringify({ email: 'big@test.pick', password: 'x'.repeat(2 * 1024 * 1024) });
    const login = await nginx.send('POST', `${nginx.url}/api/auth/login`, {
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(login.status).toBe(413);
    expect(login.headers['content-type']).toBe('application/json');
    expectSecurityHeaders(login.headers);
    expect(json(login)).toMatchObject({
      statusCode: 413,
      code: 'PAYLOAD_TOO_LARGE',
      requestId: login.headers['x-request-id'],
    });
    // The same size reaches the app on the upload route (whose guard answers: no token).
    const boundary = 'edge-boundary';
    const multipart = Buffer.concat([
      Buffer.from(
        `--${boundary}\r\ncontent-disposition: form-data; name="files"; filename="a.png"\r\ncontent-type: image/png\r\n\r\n`,
      ),
      Buffer.alloc(2 * 1024 * 1024, 1),
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const upload = await nginx.send('POST', `${nginx.url}/api/seller/products/images`, {
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
      body: multipart,
    });
    expect(upload.status).toBe(401);
    expect(json(upload).code).toBe('UNAUTHORIZED');
  });

  it("answers what nginx cannot take before the app (a request line or a header line past 8 KiB, a request that is not HTTP) in the app's error shape", async () => {
    const refusals = [
      [
        'a 9 KiB query string',
        414,
        'URI_TOO_LONG',
        () => nginx.send('GET', `${nginx.url}/api/general/products?q=${'a'.repeat(9000)}`),
      ],
      [
        'a 9 KiB header line',
        431,
        'HEADERS_TOO_LARGE',
        () => nginx.send('GET', `${nginx.url}/api/general/products`, { headers: { 'x-pad': 'a'.repeat(9000) } }),
      ],
      [
        'a request line that is not HTTP',
        400,
        'BAD_REQUEST',
        () => sendRaw(tlsPort, nginx.caFile, 'NOT HTTP AT ALL\r\n\r\n'),
      ],
    ] as const;
    for (const [what, status, code, send] of refusals) {
      const answer = await send();
      expect(answer.status, what).toBe(status);
      expect(answer.headers['content-type'], what).toBe('application/json');
      expectSecurityHeaders(answer.headers);
      expect(answer.headers['x-request-id'], what).toMatch(/^[0-9a-f]{32}$/);
      expect(json(answer), what).toEqual({
        statusCode: status,
        code,
        message: expect.any(String),
        requestId: answer.headers['x-request-id'],
      });
      // In the document for any route (ANY_ROUTE), here the product list's.
      const headers = new Headers(Object.entries(answer.headers).map(([name, value]) => [name, String(value)]));
      openApiChecker().check('GET', '/api/general/products', status, headers, json(answer));
    }
  });

  it('answers a burst on an auth route with 429 TOO_MANY_REQUESTS and Retry-After, leaves the catalog alone, and lets the address in again', async () => {
    await sleep(2500); // full buckets
    const burst = 60;
    const started = Date.now();
    const answers = await Promise.all(
      Array.from({ length: burst }, () =>
        nginx.send('POST', `${nginx.url}/api/auth/token/refresh`, {
          headers: { 'content-type': 'application/json' },
          body: '{"refreshToken":"not-a-token"}',
        }),
      ),
    );
    const ms = Date.now() - started;
    const counts = tally(answers);
    const catalog = await nginx.send('GET', `${nginx.url}/api/general/products`);
    console.log(
      `[edge] ${burst} refreshes at once from one address in ${ms} ms: ${JSON.stringify(counts)}; catalog meanwhile ${catalog.status}`,
    );
    // Default AUTH_RATE 10r/s with a burst of 20: about 21 + 10/s of the elapsed time reach the app.
    expect(counts[429]).toBeGreaterThanOrEqual(burst - 21 - Math.ceil(ms / 100) - 1);
    expect(burst - counts[429]).toBeGreaterThanOrEqual(20);
    const refused = answers.find((a) => a.status === 429)!;
    expect(refused.headers['content-type']).toBe('application/json');
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.headers['strict-transport-security']).toBe('max-age=31536000');
    expectSecurityHeaders(refused.headers);
    expect(json(refused)).toEqual({
      statusCode: 429,
      code: 'TOO_MANY_REQUESTS',
      message: expect.any(String),
      requestId: refused.headers['x-request-id'],
    });
    expect(catalog.status).toBe(200);
    await sleep(1500);
    const again = await nginx.send('POST', `${nginx.url}/api/auth/token/refresh`, {
      headers: { 'content-type': 'application/json' },
      body: '{"refreshToken":"not-a-token"}',
    });
    expect(again.status).not.toBe(429);
  });

  it('throttles claim POSTs per address, never the status poll (GET) of the same path', async () => {
    await sleep(2500);
    const path = `${nginx.url}/api/events/1/coupons/1/issue`;
    const posts = tally(await Promise.all(Array.from({ length: 50 }, () => nginx.send('POST', path))));
    const gets = tally(await Promise.all(Array.from({ length: 50 }, () => nginx.send('GET', path))));
    console.log(
      `[edge] 50 claim POSTs at once: ${JSON.stringify(posts)}; 50 status GETs at once: ${JSON.stringify(gets)}`,
    );
    expect(posts[429]).toBeGreaterThan(10);
    expect(posts[401]).toBeGreaterThanOrEqual(20); // the burst reached the app (no token: 401)
    expect(gets[429] ?? 0).toBe(0);
    expect(gets[401]).toBe(50);
  });
});

describe('edge: limit_conn per address', () => {
  // A slow upstream (500 ms) so requests overlap; CONN_LIMIT lowered to 3 for the test.
  let slow: Server;
  const port = testPort(52);
  const nginx = new TestNginx('edge-conn', testPort(53), [`127.0.0.1:${port}`], { render: { CONN_LIMIT: '3' } });
  beforeAll(async () => {
    slow = createServer((request, response) => {
      request.resume();
      setTimeout(() => response.end('{}'), 500);
    });
    await new Promise<void>((resolve) => slow.listen(port, '127.0.0.1', resolve));
    await nginx.start();
  });
  afterAll(async () => {
    await nginx.stop();
    slow?.close();
  });

  it('answers requests beyond CONN_LIMIT in progress from one address with 429 JSON', async () => {
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => nginx.send('GET', `${nginx.url}/api/general/products`)),
    );
    const counts = tally(answers);
    console.log(`[edge] 10 concurrent requests with CONN_LIMIT=3: ${JSON.stringify(counts)}`);
    expect(counts[200]).toBe(3);
    expect(counts[429]).toBe(7);
    expect(json(answers.find((a) => a.status === 429)!).code).toBe('TOO_MANY_REQUESTS');
  });
});

describe("edge: nginx's own 502 and 504 in the app's error shape", () => {
  // Nothing listens on the first upstream's port (502); the second takes requests and never answers (504).
  const deadPort = testPort(54);
  const hangingPort = testPort(56);
  const badGateway = new TestNginx('edge-502', testPort(55), [`127.0.0.1:${deadPort}`]);
  const gatewayTimeout = new TestNginx('edge-504', testPort(57), [`127.0.0.1:${hangingPort}`], {
    render: { READ_TIMEOUT: '1s' },
  });
  let hanging: Server;
  beforeAll(async () => {
    hanging = createServer((request) => request.resume());
    await new Promise<void>((resolve) => hanging.listen(hangingPort, '127.0.0.1', resolve));
    await Promise.all([badGateway.start(), gatewayTimeout.start()]);
  });
  afterAll(async () => {
    await Promise.all([badGateway.stop(), gatewayTimeout.stop()]);
    hanging?.closeAllConnections();
    hanging?.close();
  });

  it.each([
    ['no app server takes the request', 502, 'BAD_GATEWAY', () => badGateway],
    ['the app server does not answer within READ_TIMEOUT', 504, 'GATEWAY_TIMEOUT', () => gatewayTimeout],
  ] as const)('%s: %i %s as JSON with the request id, as the document says', async (_, status, code, edge) => {
    const rid = `edge-${status}-${Date.now().toString(36)}`;
    const answer = await edge().send('GET', `${edge().url}/api/general/products`, { headers: { 'x-request-id': rid } });
    expect(answer.status).toBe(status);
    expect(answer.headers['content-type']).toBe('application/json');
    expectSecurityHeaders(answer.headers);
    expect(answer.headers['x-request-id']).toBe(rid);
    expect(json(answer)).toEqual({ statusCode: status, code, message: expect.any(String), requestId: rid });
    const headers = new Headers(Object.entries(answer.headers).map(([name, value]) => [name, String(value)]));
    openApiChecker().check('GET', '/api/general/products', status, headers, json(answer));
  });
});
