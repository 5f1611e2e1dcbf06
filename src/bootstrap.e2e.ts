import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { startTestApp } from './testing/app.js';

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
