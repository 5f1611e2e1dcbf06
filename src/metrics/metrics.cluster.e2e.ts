import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pm2Cluster, testPort } from '../testing/cluster.js';
import { freshGet } from '../testing/http.js';
import { parseMetrics, scrape, sumOf } from '../testing/metrics.js';
import { until } from '../testing/poll.js';

/**
 * Per-worker scrape targets: each PM2 worker serves its own registry on OPS_PORT + instance, so
 * scraping every port of a server counts every request exactly once (the cluster port answers
 * from one random worker per connection).
 */
describe('per-worker metrics listeners (PM2 cluster of 2)', () => {
  const port = testPort(40);
  const opsPort = testPort(42);
  const cluster = new Pm2Cluster({ name: 'ops-metrics', port, instances: 2, env: { OPS_PORT: String(opsPort), OPS_HOST: '127.0.0.1' } });
  const targets = [`http://127.0.0.1:${opsPort}/metrics`, `http://127.0.0.1:${opsPort + 1}/metrics`];
  const route = { method: 'GET', route: '/health/live', status: '200' };
  const scrapeAll = () => Promise.all(targets.map(async (url) => parseMetrics((await scrape(url)).text)));

  beforeAll(async () => {
    await cluster.start();
    // Both listeners are up once each worker has booted.
    await until('both metrics ports answer', () => Promise.all(targets.map((url) => scrape(url).then((r) => r.status))), (s) => s.every((x) => x === 200), 20_000);
  }, 120_000);
  afterAll(() => cluster.stop());

  it('both ports answer with distinct worker labels; the sum over both equals exactly the requests sent', async () => {
    const before = await scrapeAll();
    const workers = before.map((samples) => samples.find((s) => s.name === 'pick_http_requests_total' || s.name === 'pick_process_cpu_seconds_total')?.labels.worker);
    expect(workers.every((w) => w !== undefined)).toBe(true);
    expect(new Set(workers).size).toBe(2);
    const baseline = before.reduce((total, samples) => total + sumOf(samples, 'pick_http_requests_total', route), 0);

    const sent = 200;
    const servedBy = new Set<string>();
    for (let i = 0; i < sent; i += 20) {
      const answers = await Promise.all(Array.from({ length: 20 }, () => freshGet(`http://127.0.0.1:${port}/health/live`)));
      answers.forEach((a) => servedBy.add(a.servedBy));
      expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
    }
    // The load went to both workers, so one port alone would undercount.
    expect(servedBy.size).toBe(2);

    const after = await scrapeAll();
    const perWorker = after.map((samples) => sumOf(samples, 'pick_http_requests_total', route));
    const counted = perWorker.reduce((a, b) => a + b, 0) - baseline;
    console.log(`requests sent ${sent}; counted per worker ${JSON.stringify(perWorker)} (baseline ${baseline}); sum ${counted}`);
    expect(counted).toBe(sent);
    expect(perWorker.every((n) => n > 0)).toBe(true);
  });

  it('serves only GET /metrics, in Prometheus text', async () => {
    const answer = await scrape(targets[0]);
    expect(answer.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(answer.text).toMatch(/^# HELP /m);
    expect((await scrape(targets[0].replace('/metrics', '/health/live'))).status).toBe(404);
  });

  it('after pm2 reload the new workers take their ports over', async () => {
    const started = async () => (await scrapeAll()).map((samples) => sumOf(samples, 'pick_process_start_time_seconds'));
    const before = await started();
    await cluster.pm2('reload', cluster.options.name);
    await cluster.waitReady();
    const after = await until('both ports served by the new workers', started, (now) => now.every((t, i) => t > before[i]), 20_000, 250);
    expect(after).toHaveLength(2);
  }, 90_000);
});
