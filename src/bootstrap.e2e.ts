import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { startTestApp } from './testing/app.js';
import { openApiChecker } from './testing/openapi-check.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function refusesConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect(port, '127.0.0.1');
    probe.once('connect', () => (probe.destroy(), resolve(false)));
    probe.once('error', () => resolve(true));
  });
}

describe('HTTP shutdown', () => {
  it('finishes the request in flight and answers a request arriving on its keep-alive connection with the API 503', async () => {
    const t = await startTestApp();
    const port = Number(new URL(t.url).port);
    const socket: Socket = connect(port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    let received = '';
    socket.on('data', (chunk) => (received += chunk));
    const closed = new Promise((resolve) => socket.once('close', resolve));

    // Request 1 is in flight (its body half sent) when the app starts closing.
    const body = JSON.stringify({ email: 'nobody@example.com', password: 'wrong-password' });
    socket.write(
      `POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, 10)}`,
    );
    await sleep(100);
    const closing = t.close();
    for (let i = 0; i < 100 && !(await refusesConnections(port)); i++) await sleep(50);

    // Its body completes, and request 2 follows on the same connection.
    socket.write(`${body.slice(10)}GET /api/general/products HTTP/1.1\r\nHost: x\r\n\r\n`);
    await closed;
    await closing;

    const responses = received.split(/(?=HTTP\/1\.1 )/).map((raw) => {
      const [head, ...rest] = raw.split('\r\n\r\n');
      return { status: Number(head.split(' ')[1]), head: head.toLowerCase(), body: rest.join('\r\n\r\n') };
    });
    expect(responses.map((r) => r.status)).toEqual([401, 503]);
    expect(JSON.parse(responses[0].body).code).toBe('INVALID_CREDENTIALS');
    expect(JSON.parse(responses[1].body)).toMatchObject({
      statusCode: 503,
      code: 'SERVICE_UNAVAILABLE',
      requestId: expect.any(String),
    });
    expect(responses[1].head).toContain('connection: close');
  });
});

/** Sends raw bytes on a new connection and reads the one answer (the server closes the connection). */
async function rawExchange(port: number, bytes: string) {
  const socket = connect(port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  let received = '';
  socket.on('data', (chunk) => (received += chunk));
  const closed = new Promise((resolve) => socket.once('close', resolve));
  socket.on('error', () => undefined);
  socket.write(bytes);
  await closed;
  const [head, ...rest] = received.split('\r\n\r\n');
  const [statusLine, ...headerLines] = head.split('\r\n');
  const headers = new Headers(headerLines.map((line) => line.split(/:\s*/, 2) as [string, string]));
  return { status: Number(statusLine.split(' ')[1]), headers, body: JSON.parse(rest.join('\r\n\r\n')) };
}

describe('an app closed as soon as it has started', () => {
  it('leaves no unhandled rejection behind (Bull naming its worker connection: "Connection is closed.")', async () => {
    const rejections: string[] = [];
    const collect = (reason: unknown) => rejections.push(reason instanceof Error ? reason.message : String(reason));
    process.on('unhandledRejection', collect);
    try {
      // Closed at once and a little later: the window is the round trip of Bull's CLIENT SETNAME.
      for (let i = 0; i < 6; i++) {
        const t = await startTestApp();
        await sleep(i * 20);
        await t.close();
      }
      await sleep(500);
    } finally {
      process.off('unhandledRejection', collect);
    }
    expect(rejections).toEqual([]);
  });
});

describe("errors Node's HTTP parser answers before there is a request", () => {
  it('answers them in the API error shape with a request id, as the document says', async () => {
    const t = await startTestApp();
    try {
      const port = Number(new URL(t.url).port);
      const checker = openApiChecker();
      const bigHeader = await rawExchange(
        port,
        `GET /api/general/products HTTP/1.1\r\nHost: x\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`,
      );
      const longUrl = await rawExchange(
        port,
        `GET /api/general/products?lastId=${'1'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
      );
      const notHttp = await rawExchange(port, 'HELLO /api/general/products HTTP/1.1\r\nHost: x\r\n\r\n');
      // A slow client's timeout (headersTimeout/requestTimeout) is raised by Node's connection check every
      // 30 s: the test hands the same error to the server's listener on a real connection instead.
      const server = t.app.getHttpServer();
      server.once('connection', (socket: Socket) =>
        setImmediate(() =>
          server.emit(
            'clientError',
            Object.assign(new Error('Request timeout'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' }),
            socket,
          ),
        ),
      );
      const timedOut = await rawExchange(port, 'GET /api/general/products HTTP/1.1\r\nHost: x\r\n');
      const answers = { bigHeader, longUrl, notHttp, timedOut };
      expect(
        Object.fromEntries(Object.entries(answers).map(([name, answer]) => [name, [answer.status, answer.body.code]])),
      ).toEqual({
        bigHeader: [431, 'HEADERS_TOO_LARGE'],
        longUrl: [431, 'HEADERS_TOO_LARGE'],
        notHttp: [400, 'BAD_REQUEST'],
        timedOut: [408, 'REQUEST_TIMEOUT'],
      });
      for (const answer of Object.values(answers)) {
        expect(answer.body).toMatchObject({ statusCode: answer.status, message: expect.any(String) });
        expect(answer.headers.get('x-request-id')).toBe(answer.body.requestId);
        expect(answer.headers.get('content-type')).toBe('application/json; charset=utf-8');
        checker.check('GET', '/api/general/products', answer.status, answer.headers, answer.body);
      }
      // The server goes on answering.
      expect((await t.http.get('/api/general/products')).status).toBe(200);
    } finally {
      await t.close();
    }
  });
});
