import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pm2Cluster, testPort } from '../testing/cluster.js';
import { freshGet } from '../testing/http.js';
import { OwnRedis } from '../testing/own-services.js';
import { sleep } from '../testing/poll.js';
import { untilEveryWorker, type ProbeResult } from '../testing/workers.js';

const REDIS_PORT = 6391;
const CATEGORY = 'TOP';

/**
 * Redis stopped mid-run under a PM2 cluster: reads and writes keep working without a 5xx,
 * and once Redis is back the transport reconnects by itself and invalidation works again.
 */
describe('catalog cache with Redis down and back', () => {
  // Its own throw-away Redis (never the shared one), without persistence: it comes back empty.
  const redis = new OwnRedis(REDIS_PORT, { aof: false });
  // TTL far beyond the test: freshness after the outage can only come from the transport.
  const cluster = new Pm2Cluster({
    name: 'cache-outage',
    port: testPort(12),
    instances: 2,
    env: { REDIS_PORT: String(REDIS_PORT), REDIS_DB: '0', CACHE_TTL_MS: '600000' },
  });
  const probed = [{ url: cluster.url, workers: 2 }];

  beforeAll(async () => {
    await redis.start();
    await cluster.start();
  });
  afterAll(async () => {
    await cluster.stop();
    await redis.kill();
  });

  it('serves reads and writes while Redis is down; invalidates again after it returns, without a restart', async () => {
    const seller = (await cluster.http.member('SELLER')).accessToken; // login needs Redis: before the outage
    const created = await cluster.http.post(
      '/api/seller/products',
      { name: `o0-${randomUUID()}`, price: 10, description: 'd', stock: 1, category: CATEGORY, status: 'IN_STOCK' },
      seller,
    );
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    const list = `/api/general/products?category=${CATEGORY}`;
    const detail = `/api/general/products/${id}`;
    const nameIn = (response: ProbeResult) => response.body?.items?.[0]?.name as string | undefined;
    const rename = async (name: string) => {
      const started = Date.now();
      const response = await cluster.http.patch(`/api/seller/products/${id}`, { name }, seller);
      expect(response.status, JSON.stringify(response.body)).toBe(200);
      return { servedBy: response.headers.get('x-served-by') ?? '', ms: Date.now() - started };
    };

    // Every catalog read during the whole test (a background reader, plus the probes): none may be a 5xx.
    const statuses = new Map<number, number>();
    let reading = true;
    const count = (response: ProbeResult) => statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
    const reader = (async () => {
      while (reading) {
        for (const path of [list, detail]) {
          const response = await freshGet(cluster.url + path).catch(() => ({ status: 0 }) as ProbeResult);
          count(response);
        }
        await sleep(20);
      }
    })();

    try {
      // Warm both workers, and check invalidation works before the outage.
      await untilEveryWorker(probed, list, (r) => nameIn(r) === created.body.name);
      const before = `o1-${randomUUID()}`;
      await rename(before);
      await untilEveryWorker(probed, list, (r) => nameIn(r) === before, { timeoutMs: 3000 });
      await untilEveryWorker(probed, detail, (r) => r.body?.name === before, { timeoutMs: 3000 });

      // --- Redis goes away ---
      await redis.kill();
      await untilEveryWorker(
        probed,
        '/health/ready',
        (r) => r.status === 503 && r.body?.checks?.transport?.status === 'down',
        { timeoutMs: 10_000 },
      );

      // Creating works too (on whichever worker; that one drops its list pages, so re-warm them).
      const extra = await cluster.http.post(
        '/api/seller/products',
        {
          name: `o-extra-${randomUUID()}`,
          price: 5,
          description: 'd',
          stock: 1,
          category: 'SHOES',
          status: 'IN_STOCK',
        },
        seller,
      );
      expect(extra.status).toBe(201);
      await untilEveryWorker(probed, list, (r) => nameIn(r) === before, { onResponse: count });

      const during = `o2-${randomUUID()}`;
      const write = await rename(during);
      expect(write.ms).toBeLessThan(3000); // the write never waits for the dead broadcast
      // The writing worker evicted its own entries at once; the other may serve its cached copy (TTL-bounded).
      const answers = new Map<string, string | undefined>();
      await untilEveryWorker(
        probed,
        list,
        (r) => {
          answers.set(r.servedBy, nameIn(r));
          return r.status === 200;
        },
        { onResponse: count },
      );
      expect(answers.get(write.servedBy)).toBe(during);
      // …and the other worker, which no broadcast can reach, still has the old page cached.
      expect([...answers.values()].sort()).toEqual([before, during].sort());
      console.log(
        `[catalog-cache] Redis down: write answered in ${write.ms} ms; list by worker: ${JSON.stringify(Object.fromEntries(answers))}`,
      );
      // Pages nobody cached yet come from MySQL.
      const cold = await freshGet(`${cluster.url}/api/general/products?category=SHOES&sort=LOW_PRICE`);
      expect(cold.status).toBe(200);
      expect(cold.body.items.length).toBeGreaterThan(0);

      // --- Redis comes back (empty) ---
      const restartedAt = Date.now();
      await redis.start();
      await untilEveryWorker(probed, '/health/ready', (r) => r.status === 200, { timeoutMs: 15_000 });
      // What changed during the outage reaches every worker now (missed broadcasts are not trusted), not after the TTL.
      await untilEveryWorker(probed, list, (r) => nameIn(r) === during, { timeoutMs: 5000, onResponse: count });
      await untilEveryWorker(probed, detail, (r) => r.body?.name === during, { timeoutMs: 5000, onResponse: count });
      const recoveredMs = Date.now() - restartedAt;

      // And invalidation works again without restarting the app.
      const after = `o3-${randomUUID()}`;
      await rename(after);
      const writtenAt = Date.now();
      await untilEveryWorker(probed, list, (r) => nameIn(r) === after, { timeoutMs: 3000 });
      await untilEveryWorker(probed, detail, (r) => r.body?.name === after, { timeoutMs: 3000 });
      console.log(
        `[catalog-cache] Redis back: ready and outage writes visible everywhere ${recoveredMs} ms after restart; a new write fresh everywhere in ${Date.now() - writtenAt} ms`,
      );
    } finally {
      reading = false;
      await reader;
    }
    const workers = await cluster.workers();
    expect(workers.every((worker) => worker.status === 'online')).toBe(true);
    const failures = [...statuses]
      .filter(([status]) => status >= 500 || status === 0)
      .reduce((sum, [, n]) => sum + n, 0);
    console.log(`[catalog-cache] reads during the test by status: ${JSON.stringify(Object.fromEntries(statuses))}`);
    expect(failures).toBe(0);
    expect(statuses.get(200)).toBeGreaterThan(20);
  });
});
