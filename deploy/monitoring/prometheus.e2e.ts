import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pm2Cluster, testPort } from '../../src/testing/cluster.js';
import { freshGet } from '../../src/testing/http.js';
import { sleep, until } from '../../src/testing/poll.js';
import { TestPrometheus, type PromSeries } from '../../src/testing/prometheus.js';

/**
 * A real Prometheus (Debian's `prometheus`, .ci/run installs it) scraping both workers of a PM2
 * cluster every second on their own metrics ports (OPS_PORT + instance), as deploy/monitoring
 * tells production to: what Prometheus stores adds up to exactly the requests sent, no worker's
 * series goes stale under load, and across a `pm2 reload` (counters restart from 0 in the new
 * workers) `increase()` stays within a bound derived below.
 *
 * PICK_PROM_RUN_SECONDS: how long the steady load runs (default 60; 10 requests/s).
 */
const RUN_SECONDS = Number(process.env.PICK_PROM_RUN_SECONDS ?? 60);
const RATE = 10;
const N = RUN_SECONDS * RATE;
const JOB = 'pick';
const ROUTE = '/api/general/products';
const SELECTOR = `{job="${JOB}",method="GET",route="${ROUTE}",status="200"}`;

const port = testPort(80);
const opsPort = testPort(82);
const promPort = testPort(85);
const workerTargets = [`127.0.0.1:${opsPort}`, `127.0.0.1:${opsPort + 1}`];

const prometheus = new TestPrometheus({ port: promPort, job: JOB, targets: workerTargets });
const query = (expr: string, time?: number) => prometheus.query(expr, time);
const scrapedAfter = (after: number, timeoutMs?: number) => prometheus.scrapedAfter(after, timeoutMs);

const byInstance = (series: PromSeries[]) =>
  Object.fromEntries(series.map((s) => [s.metric.instance, Number(s.value![1])]));

/**
 * GET the route at RATE/s on fresh connections (PM2 hands each new connection to the next
 * worker, so both get some). `count` requests, or until `stop()` says so. Every request starts
 * on schedule whatever the earlier ones take.
 */
async function load(options: { count?: number; stop?: () => boolean }) {
  const started = Date.now();
  const pending: Promise<void>[] = [];
  const result = { ok: 0, servedBy: new Set<string>(), other: {} as Record<string, number> };
  for (let i = 0; options.count === undefined ? !options.stop!() : i < options.count; i++) {
    const due = started + (i * 1000) / RATE;
    if (due > Date.now()) await sleep(due - Date.now());
    pending.push(
      freshGet(`http://127.0.0.1:${port}${ROUTE}?category=TOP`).then(
        (answer) => {
          if (answer.status === 200) {
            result.ok++;
            result.servedBy.add(answer.servedBy);
          } else result.other[answer.status] = (result.other[answer.status] ?? 0) + 1;
        },
        (error: Error) => {
          const key = error.message.slice(0, 80);
          result.other[key] = (result.other[key] ?? 0) + 1;
        },
      ),
    );
  }
  await Promise.all(pending);
  return result;
}

/**
 * What `increase()` computes for one series, as Prometheus 2.x does it (promql/functions.go,
 * extrapolatedRate): last - first plus every value before a drop (a counter reset), scaled from
 * the span between the first and last samples out toward the window's edges (fully when a sample
 * is within 1.1 average intervals of the edge, by half an interval otherwise; toward the start no
 * further than where the counter would have been 0).
 */
function extrapolatedIncrease(points: [number, number][], windowStart: number, windowEnd: number): number {
  if (points.length < 2) return 0;
  const [firstT, firstV] = points[0];
  const [lastT, lastV] = points[points.length - 1];
  let result = lastV - firstV;
  let previous = 0;
  for (const [, v] of points) {
    if (v < previous) result += previous;
    previous = v;
  }
  let toStart = firstT - windowStart;
  const toEnd = windowEnd - lastT;
  const sampled = lastT - firstT;
  const average = sampled / (points.length - 1);
  if (result > 0 && firstV >= 0) toStart = Math.min(toStart, sampled * (firstV / result));
  const threshold = average * 1.1;
  const extended = sampled + (toStart < threshold ? toStart : average / 2) + (toEnd < threshold ? toEnd : average / 2);
  return result * (extended / sampled);
}

/** The count the samples prove: a counter starts at 0, and after a drop (reset) starts again from 0. */
function countedFromZero(points: [number, number][]): number {
  let total = 0;
  let previous = 0;
  for (const [, v] of points) {
    total += v >= previous ? v - previous : v;
    previous = v;
  }
  return total;
}

describe('a real Prometheus scraping both workers (PM2 cluster of 2, scrape every 1 s)', () => {
  const cluster = new Pm2Cluster({
    name: 'prom-scrape',
    port,
    instances: 2,
    env: { OPS_PORT: String(opsPort), OPS_HOST: '127.0.0.1' },
  });
  // Phase 1 (steady load) and phase 2 (reload) figures, shared between the tests.
  let firstRequestAt = 0;
  let sent = 0;

  beforeAll(async () => {
    await cluster.start();
    await prometheus.start();
    // Both workers' listeners up and scraped once.
    await scrapedAfter(Date.now(), 30_000);
  }, 120_000);

  afterAll(async () => {
    await prometheus.stop();
    await cluster.stop();
  });

  it(
    `${N} requests over ${RUN_SECONDS} s: sum over both targets is exactly ${N}, and neither target missed a scrape`,
    async () => {
      // A fresh cluster: the route has not been asked yet.
      expect(await query(`sum(pick_http_requests_total${SELECTOR})`)).toEqual([]);

      firstRequestAt = Date.now();
      const result = await load({ count: N });
      const lastAnswerAt = Date.now();
      expect(result.other).toEqual({});
      expect(result.ok).toBe(N);
      expect(result.servedBy.size).toBe(2);
      sent = result.ok;

      // A scrape that started after the last answer (and after its onResponse hook counted it).
      await scrapedAfter(lastAnswerAt + 500);
      const total = await query(`sum(pick_http_requests_total${SELECTOR})`);
      const perWorker = await query(`pick_http_requests_total${SELECTOR}`);
      console.log(
        `sent ${N} in ${((lastAnswerAt - firstRequestAt) / 1000).toFixed(1)} s; Prometheus: sum ${total[0]?.value?.[1]}, per target ${JSON.stringify(byInstance(perWorker))}`,
      );
      expect(Number(total[0].value![1])).toBe(N);
      expect(perWorker).toHaveLength(2);
      expect(perWorker.every((s) => Number(s.value![1]) > 0)).toBe(true);

      // Staleness over the run: one `up` sample a second per target, all 1, and the app's own series
      // (a process gauge, the request counter) in every scrape: a scrape that failed, timed out or was
      // skipped under load would show as a missing sample or a 0.
      const run = Math.ceil((lastAnswerAt - firstRequestAt) / 1000);
      const at = lastAnswerAt / 1000;
      const ups = byInstance(await query(`count_over_time(up{job="${JOB}"}[${run}s])`, at));
      const upMin = byInstance(await query(`min_over_time(up{job="${JOB}"}[${run}s])`, at));
      const appSeries = byInstance(
        await query(`count_over_time(pick_process_start_time_seconds{job="${JOB}"}[${run}s])`, at),
      );
      // The counter appears at a worker's first request (first scrape after it), 1-2 s into the run.
      const counterSeries = byInstance(
        await query(`count_over_time(pick_http_requests_total${SELECTOR}[${run}s])`, at),
      );
      console.log(
        `run ${run} s: up samples ${JSON.stringify(ups)}, min(up) ${JSON.stringify(upMin)}, process series samples ${JSON.stringify(appSeries)}, counter samples ${JSON.stringify(counterSeries)}`,
      );
      for (const target of workerTargets) {
        expect(Math.abs(ups[target] - run), `${target}: up samples`).toBeLessThanOrEqual(2);
        expect(upMin[target], `${target}: min(up)`).toBe(1);
        expect(Math.abs(appSeries[target] - run), `${target}: app series samples`).toBeLessThanOrEqual(2);
        expect(counterSeries[target], `${target}: counter samples`).toBeGreaterThanOrEqual(run - 4);
        expect(counterSeries[target], `${target}: counter samples`).toBeLessThanOrEqual(run + 2);
      }
    },
    (RUN_SECONDS + 60) * 1000,
  );

  it('pm2 reload under load: the new workers take their ports over, increase() over both phases stays within the extrapolation bound', async () => {
    expect(sent, 'the steady phase ran').toBe(N);
    const reloadAt = Date.now();
    let reloaded = false;
    let stopAt = Infinity;
    // Keep sending while PM2 replaces the workers one by one, and 2 s more onto the new ones.
    const loading = load({ stop: () => reloaded && Date.now() >= stopAt });
    await cluster.pm2('reload', cluster.options.name);
    await cluster.waitReady();
    stopAt = Date.now() + 2_000;
    reloaded = true;
    const during = await loading;
    const lastAnswerAt = Date.now();
    const M = during.ok;
    console.log(`during reload: ${M} answered 200, others ${JSON.stringify(during.other)}`);
    expect(M).toBeGreaterThan(0);

    // Both ports now served by the new workers (started after the reload began), and scraped since the last answer.
    await until(
      'both targets report new workers',
      async () => byInstance(await query(`pick_process_start_time_seconds{job="${JOB}"}`)),
      (starts) => workerTargets.every((t) => starts[t] > reloadAt / 1000 - 1),
      20_000,
      250,
    );
    await scrapedAfter(lastAnswerAt + 500);

    const evaluatedAt = Date.now() / 1000;
    // The window opens 5 s before the first request of phase 1 (the series did not exist yet).
    const window = Math.ceil(evaluatedAt - firstRequestAt / 1000) + 5;
    const [increase] = await query(`sum(increase(pick_http_requests_total${SELECTOR}[${window}s]))`, evaluatedAt);
    const promIncrease = Number(increase.value![1]);
    const raw = await query(`pick_http_requests_total${SELECTOR}[${window}s]`, evaluatedAt);
    const series = raw.map((s) => s.values!.map(([t, v]) => [t, Number(v)] as [number, number]));
    const counted = series.reduce((sum, points) => sum + countedFromZero(points), 0);
    const replica = series.reduce(
      (sum, points) => sum + extrapolatedIncrease(points, evaluatedAt - window, evaluatedAt),
      0,
    );
    const resets = series.map((points) => points.filter(([, v], i) => i > 0 && v < points[i - 1][1]).length);
    const expected = N + M;
    const deviation = promIncrease - expected;
    console.log(
      `N ${N} + M ${M} = ${expected}; increase()[${window}s] ${promIncrease.toFixed(2)} (deviation ${deviation >= 0 ? '+' : ''}${deviation.toFixed(2)}, ${((100 * deviation) / expected).toFixed(2)}%); ` +
        `samples counted from 0 with resets ${counted}; resets per series ${JSON.stringify(resets)}; replica of extrapolatedRate ${replica.toFixed(2)}`,
    );

    // Each worker's series went through one counter reset (same labels: worker = pm_id, kept by reload).
    expect(series).toHaveLength(2);
    expect(resets).toEqual([1, 1]);
    // Counting the stored samples from 0 gives every request, except those an old worker answered after
    // its last successful scrape: it closes its metrics port at shutdown, after Fastify stopped taking
    // requests and drained, so at most one scrape interval (1 s, ~RATE/2 requests per worker) is lost.
    expect(counted).toBeLessThanOrEqual(expected);
    expect(expected - counted).toBeLessThanOrEqual(RATE);
    // increase() is not a count: it takes last - first (+ the value before each reset), so the
    // requests before a series' first sample are left out, then scales the sampled span out to the
    // window's edges (extrapolatedRate). Its answer is exactly that computation on the stored samples ...
    // (to float rounding: Prometheus works in integer milliseconds, this in float seconds)
    expect(Math.abs(promIncrease - replica)).toBeLessThan(1e-3);
    // ... which differs from the true count by: the first sample of each series (requests before it,
    // ~RATE/2 per worker in a 1 s scrape interval; the extrapolation toward the counter's zero point
    // adds them back only when within 1.1 intervals), plus at most 1.1 scrape intervals of average rate at each
    // end of each series, plus the unscraped tail above. Bound: 2 % of N+M + 2 x RATE.
    expect(Math.abs(deviation)).toBeLessThanOrEqual(0.02 * expected + 2 * RATE);
  }, 150_000);
});
