/**
 * Catalog cache benchmark (`npm run bench -- catalog`, or alone:
 * `node --import @swc-node/register/esm-register perf/bench/catalog.ts`).
 *
 * Starts two PM2 clusters of dist/ (one worker per core) on a database of its own, seeds the
 * demo catalog, and measures in one run, in short interleaved rounds (order reversed every
 * other round) so machine noise hits every target alike; ratios are taken within each round
 * and the median over rounds is reported:
 *   - the product list with the worker cache on,
 *   - the same list on a cluster with CACHE_ENABLED=false (same code, MySQL on every request),
 *   - /health/live on the cache-on cluster: the framework's cheapest route,
 *   - a bare `node:http` cluster of the same worker count serving the very bytes of the cached
 *     pages (bench/bare-server.mjs): the machine's ceiling, what Pick's list is measured against.
 * Settings: PICK_BENCH_DB (pick_bench), PICK_BENCH_REDIS_DB (0), PICK_BENCH_PORT_BASE (4780),
 * PICK_BENCH_SECONDS per target and round (2), PICK_BENCH_ROUNDS (9), PICK_BENCH_CONNECTIONS (32).
 */
import { Pm2Cluster } from '../../src/testing/cluster.js';
import {
  buildAndSeed,
  machine,
  median,
  setting,
  round2,
  runLoad,
  startBareListCluster,
  writeResult,
  type BenchResult,
  type LoadResult,
} from './support.js';

const LIST_PATHS = [
  '/api/general/products',
  '/api/general/products?category=TOP',
  '/api/general/products?category=PANTS',
  '/api/general/products?category=SHOES',
  '/api/general/products?sort=HIGH_PRICE',
  '/api/general/products?sort=LOW_PRICE',
  '/api/general/products?sort=LOW_PRICE&category=SHOES',
  '/api/general/products?sort=HIGH_PRICE&category=TOP',
];

type Target = 'cachedList' | 'uncachedList' | 'trivial' | 'bare';

export default async function run(): Promise<BenchResult> {
  const startedAt = new Date().toISOString();
  const { cores, cpuModel } = machine();
  const seconds = setting('PICK_BENCH_SECONDS', 2);
  const rounds = setting('PICK_BENCH_ROUNDS', 9);
  const connections = setting('PICK_BENCH_CONNECTIONS', 32);
  const portBase = setting('PICK_BENCH_PORT_BASE', 4780);
  const env: Record<string, string> = {
    NODE_ENV: 'development',
    DB_DRIVER: process.env.DB_DRIVER ?? 'mariadb',
    DB_NAME: process.env.PICK_BENCH_DB ?? 'pick_bench',
    REDIS_DB: process.env.PICK_BENCH_REDIS_DB ?? '0',
    REDIS_PREFIX: 'pick-bench',
    LOG_LEVEL: 'warn',
  };

  console.log(`[catalog] building dist/, recreating ${env.DB_NAME}, seeding the demo catalog`);
  buildAndSeed(env);

  const cacheOn = new Pm2Cluster({ name: 'bench-cache-on', port: portBase, instances: cores, env });
  const cacheOff = new Pm2Cluster({
    name: 'bench-cache-off',
    port: portBase + 1,
    instances: cores,
    env: { ...env, CACHE_ENABLED: 'false' },
  });
  let bare: { url: string; stop: () => void } | undefined;
  const runs: Record<Target, LoadResult[]> = { cachedList: [], uncachedList: [], trivial: [], bare: [] };
  const series: Record<string, [number, number][]> = {
    cachedListReqPerSec: [],
    uncachedListReqPerSec: [],
    trivialReqPerSec: [],
    bareReqPerSec: [],
  };
  const notes: string[] = [];
  const benchStart = Date.now();
  try {
    console.log(
      `[catalog] starting two PM2 clusters of ${cores} workers (cache on :${portBase}, cache off :${portBase + 1})`,
    );
    await Promise.all([cacheOn.start(), cacheOff.start()]);

    // Same code, same data: both clusters must answer the same page.
    const [on, off] = await Promise.all([cacheOn.http.get(LIST_PATHS[0]), cacheOff.http.get(LIST_PATHS[0])]);
    if (on.status !== 200 || JSON.stringify(on.body) !== JSON.stringify(off.body) || on.body.items.length !== 12) {
      throw new Error(`cache on/off clusters disagree on ${LIST_PATHS[0]}: ${on.status} ${off.status}`);
    }
    // The ceiling serves the very bytes Pick's cache serves, path for path.
    const pages: Record<string, string> = {};
    for (const path of LIST_PATHS) {
      const response = await fetch(`${cacheOn.url}${path}`);
      if (response.status !== 200) throw new Error(`${path}: ${response.status}`);
      pages[path] = await response.text();
    }
    bare = await startBareListCluster(portBase + 2, cores, pages);
    console.log(
      `[catalog] bare node:http cluster of ${cores} workers on :${portBase + 2} serving the same ${LIST_PATHS.length} pages`,
    );

    const targets: Record<Target, { url: string; paths: string[] }> = {
      cachedList: { url: cacheOn.url, paths: LIST_PATHS },
      uncachedList: { url: cacheOff.url, paths: LIST_PATHS },
      trivial: { url: cacheOn.url, paths: ['/health/live'] },
      bare: { url: bare.url, paths: LIST_PATHS },
    };
    const load = (target: Target, duration: number) =>
      runLoad({
        url: targets[target].url,
        connections,
        duration,
        requests: targets[target].paths.map((path) => ({ method: 'GET' as const, path })),
      });

    for (const target of Object.keys(targets) as Target[]) await load(target, 2); // warm-up: JIT, pools, caches
    for (let round = 1; round <= rounds; round++) {
      const order = Object.keys(targets) as Target[];
      for (const target of round % 2 ? order : order.reverse()) {
        const at = (Date.now() - benchStart) / 1000;
        const result = await load(target, seconds);
        runs[target].push(result);
        series[`${target}ReqPerSec`].push([Math.round(at), result.reqPerSec]);
        const bad = result.requests - result.statuses['2xx'];
        if (bad > 0 || result.errors > 0)
          notes.push(`${target} round ${round}: ${bad} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`);
        console.log(
          `[catalog] round ${round} ${target.padEnd(12)} ${String(result.reqPerSec).padStart(6)} req/s  p50 ${result.p50Ms} ms  p99 ${result.p99Ms} ms`,
        );
      }
    }
  } finally {
    bare?.stop();
    await Promise.all([cacheOn.stop(), cacheOff.stop()]);
  }

  const figures: Record<string, number> = {};
  for (const target of Object.keys(runs) as Target[]) {
    figures[`${target}ReqPerSec`] = Math.round(median(runs[target].map((r) => r.reqPerSec)));
    figures[`${target}P50Ms`] = median(runs[target].map((r) => r.p50Ms));
    figures[`${target}P99Ms`] = median(runs[target].map((r) => r.p99Ms));
  }
  const result: BenchResult = {
    name: 'catalog',
    startedAt,
    cores,
    cpuModel,
    figures,
    ratios: {
      cachedOverUncached: round2(median(runs.cachedList.map((r, i) => r.reqPerSec / runs.uncachedList[i].reqPerSec))),
      cachedListOverTrivial: round2(median(runs.cachedList.map((r, i) => r.reqPerSec / runs.trivial[i].reqPerSec))),
      cachedListOverBare: round2(median(runs.cachedList.map((r, i) => r.reqPerSec / runs.bare[i].reqPerSec))),
      trivialOverBare: round2(median(runs.trivial.map((r, i) => r.reqPerSec / runs.bare[i].reqPerSec))),
    },
    // trivialOverBare has no target: it shows what the framework alone costs.
    targets: { cachedOverUncached: 4, cachedListOverTrivial: 0.7, cachedListOverBare: 0.75 },
    series,
    notes: [
      `${cores} PM2 workers per cluster, autocannon in-process with ${connections} connections, ${rounds} interleaved rounds of ${seconds} s per target; figures are medians over rounds, ratios are medians of the per-round ratios`,
      `list requests rotate over ${LIST_PATHS.length} first pages (sorts x categories) of the 200-product demo catalog; trivial = GET /health/live; bare = a node:http cluster of ${cores} workers answering the same bytes`,
      'load generator, app workers and MariaDB share the same cores: absolute figures are machine-bound, the ratios are the result',
      `per-round cached/uncached: ${runs.cachedList.map((r, i) => round2(r.reqPerSec / runs.uncachedList[i].reqPerSec)).join(' ')}`,
      `per-round cached list/trivial: ${runs.cachedList.map((r, i) => round2(r.reqPerSec / runs.trivial[i].reqPerSec)).join(' ')}`,
      `per-round cached list/bare: ${runs.cachedList.map((r, i) => round2(r.reqPerSec / runs.bare[i].reqPerSec)).join(' ')}`,
      `per-round trivial/bare: ${runs.trivial.map((r, i) => round2(r.reqPerSec / runs.bare[i].reqPerSec)).join(' ')}`,
      ...notes,
    ],
  };
  console.log(
    `[catalog] cached list ${figures.cachedListReqPerSec} req/s (p50 ${figures.cachedListP50Ms} / p99 ${figures.cachedListP99Ms} ms), uncached ${figures.uncachedListReqPerSec} req/s (p50 ${figures.uncachedListP50Ms} / p99 ${figures.uncachedListP99Ms} ms), trivial ${figures.trivialReqPerSec} req/s (p50 ${figures.trivialP50Ms} / p99 ${figures.trivialP99Ms} ms)`,
  );
  result.notes?.slice(3, 7).forEach((note) => console.log(`[catalog] ${note}`));
  console.log(
    `[catalog] bare ceiling ${figures.bareReqPerSec} req/s (p50 ${figures.bareP50Ms} / p99 ${figures.bareP99Ms} ms)`,
  );
  console.log(
    `[catalog] cached/uncached ${result.ratios.cachedOverUncached} (target >= 4), cached list/trivial ${result.ratios.cachedListOverTrivial} (target >= 0.7), cached list/bare ${result.ratios.cachedListOverBare} (target >= 0.75), trivial/bare ${result.ratios.trivialOverBare}`,
  );
  return result;
}

if (import.meta.main) {
  // Run alone; under `npm run bench` the runner writes the result into its own run folder.
  run()
    .then((result) => console.log(`[catalog] wrote ${writeResult(result)}`))
    .catch((error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    });
}
