import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pm2Cluster, testPort } from './testing/cluster.js';
import { countEach } from './testing/workers.js';

/**
 * Smoke test of what production runs: dist/ under a real PM2 cluster of 2 workers.
 * Every request here uses a fresh TCP connection (agent: false), so the cluster master
 * spreads them over the workers and a stopping worker cannot hide behind keep-alive.
 */

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

function fresh(port: number, path: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    // A connection the cluster master accepted but never handed to a worker would hang for ever.
    req.setTimeout(5_000, () => req.destroy(Object.assign(new Error('no answer in 5 s'), { code: 'TIMEOUT' })));
    req.end();
  });
}

/** A POST whose body arrives in two parts: in flight from the first byte until `finish()`. */
function trickle(port: number, path: string, body: string) {
  let answer!: Promise<Answer>;
  let finish!: () => void;
  const connected = new Promise<void>((resolveConnected, rejectConnected) => {
    answer = new Promise((resolve, reject) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port,
          path,
          method: 'POST',
          agent: false,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk) => (text += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
          res.on('error', reject);
        },
      );
      req.on('error', (error) => {
        rejectConnected(error);
        reject(error);
      });
      req.on('socket', (socket) => socket.on('connect', () => resolveConnected()));
      req.setTimeout(15_000, () => req.destroy(Object.assign(new Error('no answer in 15 s'), { code: 'TIMEOUT' })));
      req.flushHeaders();
      req.write(body.slice(0, 10));
      finish = () => req.end(body.slice(10));
    });
  });
  return { connected, answer, finish: () => finish() };
}

const errorCode = (error: unknown) => (error as { code?: string }).code ?? String(error);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('PM2 cluster of 2 workers', () => {
  const port = testPort(10);
  const cluster = new Pm2Cluster({ name: 'found-smoke', port, instances: 2 });

  beforeAll(async () => {
    await cluster.start();
  }, 120_000);
  afterAll(() => cluster.stop());

  it('answers the catalog and readiness with 200 from at least 2 distinct workers', async () => {
    const workers = await cluster.workers();
    expect(workers.filter((w) => w.status === 'online')).toHaveLength(2);
    const servedBy = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const [products, ready] = await Promise.all([fresh(port, '/api/general/products'), fresh(port, '/health/ready')]);
      expect(products.status, products.body).toBe(200);
      expect(JSON.parse(products.body)).toMatchObject({ items: expect.any(Array) });
      expect(ready.status, ready.body).toBe(200);
      servedBy.add(String(products.headers['x-served-by']));
      servedBy.add(String(ready.headers['x-served-by']));
    }
    console.log(`cluster: x-served-by seen: ${[...servedBy].join(', ')}`);
    expect(servedBy.size).toBeGreaterThanOrEqual(2);
  });

  it('pm2 stop drains: in-flight requests complete on a stopping worker, the other keeps serving', async () => {
    // Requests in flight when the stop begins (body half sent), spread over the workers.
    const inFlight = Array.from({ length: 4 }, () =>
      trickle(port, '/api/auth/login', JSON.stringify({ email: 'nobody-drain@test.pick', password: 'password123' })),
    );
    await Promise.all(inFlight.map((r) => r.connected));
    await sleep(300); // the workers have accepted the connections and are reading the bodies

    // A steady burst of fresh requests across the stop.
    const outcomes: { startedBeforeStop: boolean; result: string; endedAt: number }[] = [];
    let stopIssued = false;
    let stopDone = false;
    const burst = (async () => {
      while (!stopDone) {
        const startedBeforeStop = !stopIssued;
        const batch = Array.from({ length: 4 }, () =>
          fresh(port, '/api/general/products').then(
            (r) => outcomes.push({ startedBeforeStop, result: String(r.status), endedAt: Date.now() }),
            (error) => outcomes.push({ startedBeforeStop, result: errorCode(error), endedAt: Date.now() }),
          ),
        );
        await Promise.all(batch);
        await sleep(5);
      }
    })();
    await sleep(200);

    const started = Date.now();
    stopIssued = true;
    const stopping = cluster.pm2('stop', 'found-smoke').finally(() => (stopDone = true));
    // When the last worker starts stopping, the cluster master closes the shared listener and drops
    // connections it had accepted but not yet handed to a worker: a reset after that point is the
    // kernel's/master's, not a failed drain (in production Nginx retries those on another server).
    let lastWorkerStoppingAt = Number.POSITIVE_INFINITY;
    const watch = (async () => {
      while (!stopDone) {
        const statuses = await cluster.workers().catch(() => []);
        if (statuses.length > 0 && statuses.every((w) => w.status !== 'online')) {
          lastWorkerStoppingAt = Math.min(lastWorkerStoppingAt, Date.now());
        }
        await sleep(50);
      }
    })();

    // PM2 sends SIGINT; a worker holding an in-flight request drains it (PM2 shows it "stopping")
    // while the other workers keep serving. Wait until some worker is draining, then let the
    // in-flight requests finish.
    let draining: number[] = [];
    while (Date.now() - started < 10_000 && draining.length === 0) {
      draining = (await cluster.workers()).filter((w) => w.status === 'stopping').map((w) => w.pmId);
      if (draining.length === 0) await sleep(100);
    }
    await sleep(500); // SIGINT handled: the draining worker's listener is closed
    const servedAtFinish = await fresh(port, '/health/live').then(
      (r) => `${r.status} ${r.headers['x-served-by']}`,
      errorCode,
    );
    for (const r of inFlight) r.finish();
    const answers = await Promise.all(
      inFlight.map((r) =>
        r.answer.then(
          (a) => ({
            status: a.status,
            code: JSON.parse(a.body).code as string,
            worker: Number(String(a.headers['x-served-by']).split('/').at(-1)),
          }),
          (error) => ({ status: 0, code: errorCode(error), worker: -1 }),
        ),
      ),
    );
    const stopTimedOut = await Promise.race([stopping.then(() => false), sleep(30_000).then(() => true)]);
    if (stopTimedOut) {
      stopDone = true;
      const state = JSON.stringify(await cluster.workers().catch((error) => String(error)));
      throw new Error(
        `pm2 stop did not return within 30 s; workers: ${state}\n${await cluster.logs(120).catch((error) => String(error))}`,
      );
    }
    await burst;
    await watch;
    const stopMs = Date.now() - started;
    const afterStop = await fresh(port, '/health/live').then((r) => String(r.status), errorCode);

    const tally = countEach(outcomes.map((o) => o.result));
    console.log(
      `cluster drain: draining workers ${JSON.stringify(draining)}; fresh request while draining: ${servedAtFinish}; pm2 stop took ${stopMs} ms; in-flight: ${JSON.stringify(answers)}; burst: ${JSON.stringify(tally)}; after stop: ${afterStop}`,
    );

    expect(draining.length).toBeGreaterThan(0);
    expect(answers.map(({ status, code }) => ({ status, code }))).toEqual(
      inFlight.map(() => ({ status: 401, code: 'INVALID_CREDENTIALS' })),
    );
    // At least one in-flight request was completed by a worker that was already shutting down.
    expect(answers.some((a) => draining.includes(a.worker))).toBe(true);
    // Requests started before the stop all completed normally.
    expect(outcomes.filter((o) => o.startedBeforeStop && o.result !== '200')).toEqual([]);
    // New connections during the stop: answered (200), refused politely (503 while closing) or refused at
    // connect. KNOWN WEAKNESS (measured, not hidden): in about 1 run in 3 on this box, 1-4 connections that
    // the PM2 cluster master accepted while a worker was exiting are reset or never answered (Node cluster
    // hands them to the exiting worker). Bounded here; Nginx's proxy_next_upstream retries them in production.
    const lost = outcomes.filter((o) => !['200', '503', 'ECONNREFUSED'].includes(o.result));
    const beforeLast = outcomes.filter((o) => o.endedAt < lastWorkerStoppingAt);
    console.log(
      `cluster drain: ${outcomes.length} burst requests, ${beforeLast.length} before the last worker stopped; lost: ${JSON.stringify(lost)}`,
    );
    expect(lost.length).toBeLessThanOrEqual(Math.max(4, Math.ceil(outcomes.length * 0.02)));
    expect(afterStop).toBe('ECONNREFUSED');
    expect((await cluster.workers()).map((w) => w.status)).toEqual(['stopped', 'stopped']);
  }, 120_000);
});
