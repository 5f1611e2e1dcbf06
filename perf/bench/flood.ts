/**
 * Login flood benchmark (`npm run bench -- flood`, or alone:
 * `node --import @swc-node/register/esm-register perf/bench/flood.ts`).
 *
 * One abusive client sends wrong-password logins over PICK_FLOOD_CONNECTIONS (64) keep-alive
 * connections, closed loop, from a process of its own (bench/login-flood.mjs), against a PM2
 * cluster of one worker per core with its production throttles (defaults). Measured in the same
 * run, in interleaved rounds (order reversed every other round): the cached product list alone
 * ("quiet"), and the same list while the flood runs ("flooded"). The ratio flooded/quiet is what
 * the abuse costs honest shoppers (target >= 0.8). Each flooded round also logs an honest member
 * in from another loopback address (127.0.0.2) while the flood still runs, which must succeed.
 * Settings: PICK_BENCH_DB (pick_bench), PICK_BENCH_REDIS_DB (0), PICK_BENCH_PORT_BASE (4780),
 * PICK_BENCH_SECONDS per round (4), PICK_BENCH_ROUNDS (4), PICK_BENCH_CONNECTIONS (32).
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import { Pm2Cluster } from '../../src/testing/cluster.js';
import {
  buildAndSeed,
  machine,
  median,
  setting,
  round2,
  runLoad,
  writeResult,
  type BenchResult,
  type LoadResult,
} from './support.js';

const root = new URL('../..', import.meta.url).pathname;

const LIST_PATHS = [
  '/api/general/products',
  '/api/general/products?category=TOP',
  '/api/general/products?sort=LOW_PRICE',
];
const FLOODED_EMAIL = 'seller@email.com';
const HONEST = { email: 'customer@email.com', password: 'password' };

interface FloodOutcome {
  requests: number;
  errors: number;
  statuses: Record<string, number>;
}

/** The flood in a child process for `seconds`; resolves with what it counted. */
function flood(url: string, connections: number, seconds: number): Promise<FloodOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [`${root}perf/bench/login-flood.mjs`, url, String(connections), String(seconds), FLOODED_EMAIL],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0
        ? resolve(JSON.parse(out.trim().split('\n').pop()!) as FloodOutcome)
        : reject(new Error(`login flood exited with ${code}`)),
    );
  });
}

/** An honest login from another address (the flood's per-address limit must not reach it); its status and time. */
function honestLogin(url: string): Promise<{ status: number; ms: number }> {
  const started = Date.now();
  const body = JSON.stringify(HONEST);
  return new Promise((resolve, reject) => {
    const request = http.request(
      new URL('/api/auth/login', url),
      {
        method: 'POST',
        localAddress: '127.0.0.2',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        timeout: 15_000,
      },
      (response) => {
        response.resume();
        response.on('end', () => resolve({ status: response.statusCode ?? 0, ms: Date.now() - started }));
      },
    );
    request.on('timeout', () => request.destroy(new Error('honest login timed out')));
    request.on('error', reject);
    request.end(body);
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export default async function run(): Promise<BenchResult> {
  const startedAt = new Date().toISOString();
  const { cores, cpuModel } = machine();
  const seconds = setting('PICK_BENCH_SECONDS', 4);
  const rounds = setting('PICK_BENCH_ROUNDS', 4);
  const connections = setting('PICK_BENCH_CONNECTIONS', 32);
  const floodConnections = setting('PICK_FLOOD_CONNECTIONS', 64);
  const port = setting('PICK_BENCH_PORT_BASE', 4780) + 5;
  const env: Record<string, string> = {
    NODE_ENV: 'development',
    DB_DRIVER: process.env.DB_DRIVER ?? 'mariadb',
    DB_NAME: process.env.PICK_BENCH_DB ?? 'pick_bench',
    REDIS_DB: process.env.PICK_BENCH_REDIS_DB ?? '0',
    REDIS_PREFIX: `pick-bench-flood-${Date.now()}`, // fresh throttle counters every run
    LOG_LEVEL: 'warn',
  };

  console.log(`[flood] building dist/, recreating ${env.DB_NAME}, seeding the demo catalog`);
  buildAndSeed(env, 'ignore');
  const cluster = new Pm2Cluster({ name: 'bench-flood', port, instances: cores, env });
  const runs: Record<'quiet' | 'flooded', LoadResult[]> = { quiet: [], flooded: [] };
  const series: Record<string, [number, number][]> = { quietReqPerSec: [], floodedReqPerSec: [] };
  const floods: FloodOutcome[] = [];
  const honest: { status: number; ms: number }[] = [];
  const notes: string[] = [];
  const benchStart = Date.now();
  try {
    console.log(`[flood] starting a PM2 cluster of ${cores} workers on :${port} (throttles at their defaults)`);
    await cluster.start();
    const list = () =>
      runLoad({
        url: cluster.url,
        connections,
        duration: seconds,
        requests: LIST_PATHS.map((path) => ({ method: 'GET' as const, path })),
      });
    await runLoad({
      url: cluster.url,
      connections,
      duration: 2,
      requests: LIST_PATHS.map((path) => ({ method: 'GET' as const, path })),
    }); // warm-up
    for (let round = 1; round <= rounds; round++) {
      const order: ('quiet' | 'flooded')[] = round % 2 ? ['quiet', 'flooded'] : ['flooded', 'quiet'];
      for (const phase of order) {
        const at = Math.round((Date.now() - benchStart) / 1000);
        let result: LoadResult;
        if (phase === 'quiet') result = await list();
        else {
          // The flood starts first and outlasts the measurement, so the list is measured under it throughout.
          const flooding = flood(cluster.url, floodConnections, seconds + 2);
          await sleep(1000);
          result = await list();
          // Still under the flood (it outlasts the measurement), but outside the measured window: the
          // honest login's own password hash must not count against the flooded list.
          honest.push(await honestLogin(cluster.url));
          floods.push(await flooding);
        }
        runs[phase].push(result);
        series[`${phase}ReqPerSec`].push([at, result.reqPerSec]);
        const bad = result.requests - result.statuses['2xx'];
        if (bad > 0 || result.errors > 0)
          notes.push(`${phase} round ${round}: ${bad} non-2xx, ${result.errors} errors`);
        const extra =
          phase === 'flooded'
            ? `  flood ${JSON.stringify(floods.at(-1)!.statuses)}, honest login ${honest.at(-1)!.status} in ${honest.at(-1)!.ms} ms`
            : '';
        console.log(
          `[flood] round ${round} ${phase.padEnd(8)} ${String(result.reqPerSec).padStart(6)} req/s  p99 ${result.p99Ms} ms${extra}`,
        );
      }
      await sleep(1000);
    }
  } finally {
    await cluster.stop();
  }

  const floodRequests = floods.reduce((sum, outcome) => sum + outcome.requests, 0);
  const floodRefused = floods.reduce((sum, outcome) => sum + (outcome.statuses['429'] ?? 0), 0);
  const honestOk = honest.filter((login) => login.status >= 200 && login.status < 300).length;
  const figures: Record<string, number> = {
    quietReqPerSec: Math.round(median(runs.quiet.map((r) => r.reqPerSec))),
    floodedReqPerSec: Math.round(median(runs.flooded.map((r) => r.reqPerSec))),
    quietP99Ms: median(runs.quiet.map((r) => r.p99Ms)),
    floodedP99Ms: median(runs.flooded.map((r) => r.p99Ms)),
    floodReqPerSec: Math.round(floodRequests / floods.length / (seconds + 2)),
    floodRefusedShare: round2(floodRefused / Math.max(1, floodRequests)),
    honestLoginsOk: honestOk,
    honestLoginMaxMs: Math.max(...honest.map((login) => login.ms)),
  };
  const result: BenchResult = {
    name: 'flood',
    startedAt,
    cores,
    cpuModel,
    figures,
    ratios: {
      floodedListOverQuiet: round2(median(runs.flooded.map((r, i) => r.reqPerSec / runs.quiet[i].reqPerSec))),
      honestLoginsDuringFlood: round2(honestOk / Math.max(1, honest.length)),
    },
    targets: { floodedListOverQuiet: 0.8, honestLoginsDuringFlood: 1 },
    series,
    notes: [
      `${cores} PM2 workers, throttles at their defaults; the cached list by autocannon with ${connections} connections, ${rounds} interleaved rounds of ${seconds} s per phase`,
      `flood: one process, ${floodConnections} keep-alive connections, closed loop, wrong passwords for ${FLOODED_EMAIL} from 127.0.0.1; per round ${floods.map((f) => JSON.stringify(f.statuses)).join(' ')}`,
      `honest login (${HONEST.email} from 127.0.0.2) in each flooded round: ${honest.map((login) => `${login.status} in ${login.ms} ms`).join(', ')}`,
      `per-round flooded/quiet list: ${runs.flooded.map((r, i) => round2(r.reqPerSec / runs.quiet[i].reqPerSec)).join(' ')}`,
      ...notes,
    ],
  };
  console.log(
    `[flood] cached list quiet ${figures.quietReqPerSec} req/s, flooded ${figures.floodedReqPerSec} req/s: ${result.ratios.floodedListOverQuiet} (target >= 0.8); flood ${figures.floodReqPerSec} req/s, ${Math.round(figures.floodRefusedShare * 100)} % refused; honest logins ${honestOk}/${honest.length}`,
  );
  return result;
}

if (import.meta.main) {
  run()
    .then((result) => console.log(`[flood] wrote ${writeResult(result)}`))
    .catch((error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    });
}
