import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pm2Cluster, testPort } from '../testing/cluster.js';
import { freshGet } from '../testing/http.js';
import { loadConfig } from '../../config/env.js';
import { MemberRole } from '../members/member.entity.js';
import { claimPlan, rush, tally } from '../testing/claim-rush.js';
import { createEvent, eventBody, mint } from '../testing/fixtures.js';
import { parseMetrics, scrape, sumOf, type Sample } from '../testing/metrics.js';
import { until } from '../testing/poll.js';

/**
 * Per-worker scrape targets: each PM2 worker serves its own registry on OPS_PORT + instance, so
 * scraping every port of a server counts every request exactly once (the cluster port answers
 * from one random worker per connection).
 */
describe('per-worker metrics listeners (PM2 cluster of 2)', () => {
  const port = testPort(70);
  const opsPort = testPort(72);
  const cluster = new Pm2Cluster({
    name: 'ops-metrics',
    port,
    instances: 2,
    // A Redis prefix of its own: its exact rows-persisted sum must not lose claims to a processor of
    // another file on the shared test prefix (seen in a fresh machine's run).
    env: {
      OPS_PORT: String(opsPort),
      OPS_HOST: '127.0.0.1',
      REDIS_PREFIX: `${process.env.REDIS_PREFIX ?? 'pick-test'}-ops-metrics-${Date.now()}`,
    },
  });
  const targets = [`http://127.0.0.1:${opsPort}/metrics`, `http://127.0.0.1:${opsPort + 1}/metrics`];
  const route = { method: 'GET', route: '/health/live', status: '200' };
  const scrapeAll = () => Promise.all(targets.map(async (url) => parseMetrics((await scrape(url)).text)));

  beforeAll(async () => {
    await cluster.start();
    // Both listeners are up once each worker has booted.
    await until(
      'both metrics ports answer',
      () => Promise.all(targets.map((url) => scrape(url).then((r) => r.status))),
      (s) => s.every((x) => x === 200),
      20_000,
    );
  }, 120_000);
  afterAll(() => cluster.stop());

  it('both ports answer with distinct worker labels; the sum over both equals exactly the requests sent', async () => {
    const before = await scrapeAll();
    const workers = before.map(
      (samples) =>
        samples.find((s) => s.name === 'pick_http_requests_total' || s.name === 'pick_process_cpu_seconds_total')
          ?.labels.worker,
    );
    expect(workers.every((w) => w !== undefined)).toBe(true);
    expect(new Set(workers).size).toBe(2);
    const baseline = before.reduce((total, samples) => total + sumOf(samples, 'pick_http_requests_total', route), 0);

    const sent = 200;
    const servedBy = new Set<string>();
    for (let i = 0; i < sent; i += 20) {
      const answers = await Promise.all(
        Array.from({ length: 20 }, () => freshGet(`http://127.0.0.1:${port}/health/live`)),
      );
      answers.forEach((a) => servedBy.add(a.servedBy));
      expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
    }
    // The load went to both workers, so one port alone would undercount.
    expect(servedBy.size).toBe(2);

    const after = await scrapeAll();
    const perWorker = after.map((samples) => sumOf(samples, 'pick_http_requests_total', route));
    const counted = perWorker.reduce((a, b) => a + b, 0) - baseline;
    console.log(
      `requests sent ${sent}; counted per worker ${JSON.stringify(perWorker)} (baseline ${baseline}); sum ${counted}`,
    );
    expect(counted).toBe(sent);
    expect(perWorker.every((n) => n > 0)).toBe(true);
  });

  it('a claim rush through the cluster: claims by result and rows persisted, summed over both ports, equal what happened', async () => {
    const config = loadConfig({ ...process.env });
    const [admin] = await mint(config, 1, MemberRole.ADMIN);
    const members = await mint(config, 150);
    const { eventId, couponIds } = await createEvent(cluster.http, admin.accessToken, eventBody({ max: 40 }));
    const before = await scrapeAll();
    const total = (all: Sample[][], name: string, labels: Record<string, string> = {}) =>
      all.reduce((sum, samples) => sum + sumOf(samples, name, labels), 0);
    const outcomes = await rush(cluster.url, eventId, couponIds[0], claimPlan(members, 3));
    const counts = tally(outcomes);
    expect(counts['202']).toBe(40);
    const after = await until(
      '40 rows persisted (summed over both workers)',
      scrapeAll,
      (all) =>
        total(all, 'pick_coupon_claims_persisted_total') - total(before, 'pick_coupon_claims_persisted_total') === 40,
      15_000,
      250,
    );
    const moved = (result: string) =>
      total(after, 'pick_coupon_claims_total', { result }) - total(before, 'pick_coupon_claims_total', { result });
    const byResult = { accepted: moved('accepted'), duplicate: moved('duplicate'), sold_out: moved('sold_out') };
    console.log(
      `rush: ${outcomes.length} claims ${JSON.stringify(counts)}; counted over both ports ${JSON.stringify(byResult)}`,
    );
    expect(byResult).toEqual({
      accepted: counts['202'],
      duplicate: counts['409 COUPON_ALREADY_ISSUED'] ?? 0,
      sold_out: counts['409 COUPON_SOLD_OUT'] ?? 0,
    });
    // Deployment-wide gauges: each worker reports the same value (max, not sum); nothing left in flight.
    for (const samples of after) {
      expect(samples.some((s) => s.name === 'pick_coupon_pending_claims' && s.labels.coupon === couponIds[0])).toBe(
        false,
      );
      expect(sumOf(samples, 'pick_queue_jobs', { state: 'waiting' })).toBe(0);
    }
  }, 120_000);

  it('serves only GET /metrics, in Prometheus text', async () => {
    const answer = await scrape(targets[0]);
    expect(answer.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(answer.text).toMatch(/^# HELP /m);
    expect((await scrape(targets[0].replace('/metrics', '/health/live'))).status).toBe(404);
  });

  // The ecosystem file's V8 settings (worker RSS under 300 MB in a rush, issue 14). They once sat in
  // `env.NODE_OPTIONS`, which PM2's cluster fork never passes to a worker: every worker ran with
  // V8's defaults, a young generation of 128 MiB here. (--heap-growing-percent shows in no metric;
  // npm run bench's RSS peak measures it.)
  it('every worker runs with the V8 heap flags of ecosystem.config.js: its young generation is 32 MiB at most', async () => {
    for (const samples of await scrapeAll()) {
      const young = samples.find(
        (s) => s.name === 'pick_nodejs_heap_space_size_total_bytes' && s.labels.space === 'new',
      );
      expect(young, 'new space size').toBeDefined();
      expect(young!.value).toBeGreaterThan(0);
      expect(young!.value).toBeLessThanOrEqual(32 * 1024 * 1024);
    }
  });

  it('after pm2 reload the new workers take their ports over', async () => {
    const started = async () => (await scrapeAll()).map((samples) => sumOf(samples, 'pick_process_start_time_seconds'));
    const before = await started();
    await cluster.pm2('reload', cluster.options.name);
    await cluster.waitReady();
    const after = await until(
      'both ports served by the new workers',
      started,
      (now) => now.every((t, i) => t > before[i]),
      20_000,
      250,
    );
    expect(after).toHaveLength(2);
  }, 90_000);
});
