/**
 * Shared pieces of the local benchmarks (`npm run bench`): a load run with autocannon and the
 * result file. Benchmarks compare figures measured side by side in one run (the machine is
 * shared and noisy), so results are reported as ratios as well as absolute numbers.
 */
import autocannon from 'autocannon';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';

export interface LoadOptions {
  url: string;
  /** concurrent connections */
  connections?: number;
  /** seconds; ignored when `amount` is set */
  duration?: number;
  /** total requests instead of a duration */
  amount?: number;
  /** requests per second across all connections (autocannon overallRate); unset: as fast as answered */
  overallRate?: number;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  /** per-request variation (autocannon `requests`) */
  requests?: autocannon.Request[];
}

export interface LoadResult {
  requests: number;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** responses by status class: 2xx, 3xx, 4xx, 5xx */
  statuses: Record<string, number>;
  errors: number;
  timeouts: number;
  durationSec: number;
}

/** Where benchmarks say what they are doing; `npm run bench` shows it on its progress line. */
let progressListener: ((text: string) => void) | undefined;

export function onProgress(listener: ((text: string) => void) | undefined): void {
  progressListener = listener;
}

export function reportProgress(text: string): void {
  progressListener?.(text);
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const paths = options.requests?.map((request) => request.path).filter((path) => path !== undefined) ?? [];
  const target = `${options.method ?? 'GET'} ${paths[0] ?? new URL(options.url).pathname}${paths.length > 1 ? ` (+${paths.length - 1} paths)` : ''}`;
  reportProgress(
    `${target} × ${options.connections ?? 100} conns, ${options.amount ? `${options.amount} requests` : `${options.duration ?? 10} s`}`,
  );
  const started = performance.now();
  let lastResponse = started;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const run = autocannon(
      {
        url: options.url,
        connections: options.connections ?? 100,
        // autocannon rejects an explicit `duration: undefined`: pass one or the other.
        ...(options.amount ? { amount: options.amount } : { duration: options.duration ?? 10 }),
        ...(options.overallRate && { overallRate: options.overallRate }),
        method: options.method ?? 'GET',
        headers: options.headers,
        body: options.body,
        requests: options.requests,
        timeout: 10,
      },
      (error, done) => (error ? reject(error) : resolve(done)),
    );
    run.on('response', () => (lastResponse = performance.now()));
  });
  // The run's time is up to its last response. autocannon ends a run only at its next 1 s sample
  // tick, so a run of a fixed number of requests (a rush) that was over in 2.2 s reported 3 s (and
  // its `requests.average` is the mean of per-second samples, the last one partial): its rate came
  // out up to a third low, always rounded to whole seconds.
  const activeSec = Math.max(lastResponse - started, 1) / 1000;
  return {
    requests: result.requests.total,
    reqPerSec: Math.round(result.requests.total / activeSec),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    statuses: { '2xx': result['2xx'], '3xx': result['3xx'], '4xx': result['4xx'], '5xx': result['5xx'] },
    errors: result.errors,
    timeouts: result.timeouts,
    durationSec: Math.round(activeSec * 100) / 100,
  };
}

export interface BenchResult {
  /** "catalog", "coupons", … */
  name: string;
  startedAt: string;
  cores: number;
  cpuModel: string;
  /** absolute figures, e.g. { cachedReqPerSec: 9000, uncachedP99Ms: 40 } */
  figures: Record<string, number>;
  /** side-by-side ratios from the same run, e.g. { cachedOverUncached: 5.1 } */
  ratios: Record<string, number>;
  /** targets the issue sets, e.g. { cachedOverUncached: 4 } (ratio >= target passes) */
  targets: Record<string, number>;
  /**
   * targets on absolute figures (issue 14: drain rows/s, RSS): figure name -> bound; `min`: the
   * figure must be >= min, `max`: it must be < max
   */
  bounds?: Record<string, { min?: number; max?: number }>;
  /** time series for charts: name -> [[secondsSinceStart, value], …] */
  series?: Record<string, [number, number][]>;
  notes?: string[];
}

export interface Verdict {
  bench: string;
  name: string;
  /** 'ratio' (measured >= target) or a bound on a figure ('min': >=, 'max': <) */
  kind: 'ratio' | 'min' | 'max';
  measured: number;
  target: number;
  pass: boolean;
}

/** Every target of a result with its verdict; a missing figure or ratio fails. */
export function verdicts(result: BenchResult): Verdict[] {
  const ratios = Object.entries(result.targets).map(([name, target]): Verdict => {
    const measured = result.ratios[name] ?? NaN;
    return { bench: result.name, name, kind: 'ratio', measured, target, pass: measured >= target };
  });
  const bounds = Object.entries(result.bounds ?? {}).flatMap(([name, bound]) => {
    const measured = result.figures[name] ?? NaN;
    const out: Verdict[] = [];
    if (bound.min !== undefined)
      out.push({ bench: result.name, name, kind: 'min', measured, target: bound.min, pass: measured >= bound.min });
    if (bound.max !== undefined)
      out.push({ bench: result.name, name, kind: 'max', measured, target: bound.max, pass: measured < bound.max });
    return out;
  });
  return [...ratios, ...bounds];
}

export function machine(): Pick<BenchResult, 'cores' | 'cpuModel'> {
  const list = cpus();
  return { cores: list.length, cpuModel: list[0]?.model ?? 'unknown' };
}

const resultsDir = new URL('../results/', import.meta.url).pathname;

/** Writes perf/results/<dir>/<name>.json (dir defaults to a timestamp) and returns its path. */
export function writeResult(result: BenchResult, dir = result.startedAt.replace(/[:.]/g, '-')): string {
  const folder = `${resultsDir}${dir}`;
  mkdirSync(folder, { recursive: true });
  const path = `${folder}/${result.name}.json`;
  writeFileSync(path, JSON.stringify(result, null, 2) + '\n');
  return path;
}

const root = new URL('../..', import.meta.url).pathname;

/** Builds dist/ (what PM2 runs), recreates the bench database from the migrations and seeds the demo data. */
export function buildAndSeed(env: Record<string, string>, stdio: 'inherit' | 'ignore' = 'inherit'): void {
  const options = { cwd: root, env: { ...process.env, ...env } };
  execFileSync(process.execPath, [`${root}node_modules/@nestjs/cli/bin/nest.js`, 'build'], {
    ...options,
    stdio: 'inherit',
  });
  execFileSync(process.execPath, ['dist/src/cli/migrate.js', 'reset'], { ...options, stdio });
  execFileSync(process.execPath, ['dist/src/cli/seed.js'], { ...options, stdio });
}

export const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
export const round2 = (value: number): number => Math.round(value * 100) / 100;

/** A numeric bench setting from the environment (PICK_BENCH_*), or its default. */
export const setting = (name: string, fallback: number): number => Number(process.env[name] ?? fallback);

export interface BareCluster {
  url: string;
  stop: () => void;
  /** The pids of its workers (node:cluster's children of the primary), for their CPU time. */
  workerPids: () => number[];
}

/** The pids whose parent is `parent` (from /proc/<pid>/stat's fourth field). */
export function childPids(parent: number): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === parent;
      } catch {
        return false; // gone meanwhile
      }
    })
    .map(Number);
}

/** CPU seconds (user + system) of one /proc/<pid>/stat or /proc/<pid>/task/<tid>/stat line. */
function statCpuSec(stat: string): number {
  const ticksPerSec = 100; // USER_HZ: 100 on Linux for every architecture Node runs on
  // Fields after the command name (which may contain spaces): utime is the 14th field, stime the 15th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSec;
}

/** CPU seconds (user + system) the processes have used so far, from /proc/<pid>/stat. */
export function processesCpuSec(pids: number[]): number {
  return pids.reduce((sum, pid) => sum + statCpuSec(readFileSync(`/proc/${pid}/stat`, 'utf8')), 0);
}

/**
 * CPU seconds (user + system) the processes' threads have used so far, from /proc/<pid>/task: the main
 * thread (JavaScript, the event loop) apart from the others (V8's helpers: concurrent GC and compilation;
 * libuv's pool). V8's CPU profiler samples the main thread only.
 */
export function threadsCpuSec(pids: number[]): { main: number; helpers: number } {
  let main = 0;
  let helpers = 0;
  for (const pid of pids) {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      let stat: string;
      try {
        stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      } catch {
        continue; // the thread ended meanwhile
      }
      const sec = statCpuSec(stat);
      if (tid === String(pid)) main += sec;
      else helpers += sec;
    }
  }
  return { main, helpers };
}

/** CPU seconds every core has spent busy so far (all but idle and iowait), from /proc/stat. */
export function machineCpuSec(): number {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = fields;
  return (user + nice + system + irq + softirq + steal) / 100;
}

/**
 * Who spent the CPU of a load run, in seconds: the whole machine (/proc/stat, so also what no process is
 * charged for, such as the kernel's loopback receive work), the server's `workers`, Redis, MySQL and the
 * load generator (this process). A server's figures per request explain its rate: on shared cores, a
 * request is as dear as every process's CPU it costs, not only its workers'.
 */
export interface CpuSplit {
  machine: number;
  workers: number;
  redis: number;
  mysql: number;
  loadGenerator: number;
}

export function cpuMeter(services: { redisPid?: number; mysqlPid?: number }): (workers: number[]) => () => CpuSplit {
  const own = (pid: number | undefined) =>
    pid !== undefined && existsSync(`/proc/${pid}/stat`) ? processesCpuSec([pid]) : 0;
  const read = (workers: number[]): CpuSplit => ({
    machine: machineCpuSec(),
    workers: processesCpuSec(workers),
    redis: own(services.redisPid),
    mysql: own(services.mysqlPid),
    loadGenerator: processesCpuSec([process.pid]),
  });
  return (workers) => {
    const before = read(workers);
    return () => {
      const after = read(workers);
      return {
        machine: after.machine - before.machine,
        workers: after.workers - before.workers,
        redis: after.redis - before.redis,
        mysql: after.mysql - before.mysql,
        loadGenerator: after.loadGenerator - before.loadGenerator,
      };
    };
  };
}

/**
 * Starts one of the bench's bare `node:http` clusters (perf/bench/<script>, plain JavaScript on the
 * project's Node) on `port` with `workers` workers, and waits for its "ready".
 */
async function startBare(
  script: string,
  port: number,
  args: string[],
  env: Record<string, string> = {},
  cleanup = () => {},
): Promise<BareCluster> {
  const child = spawn(process.execPath, [`${root}perf/bench/${script}`, String(port), ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const stop = () => {
    child.kill('SIGTERM');
    cleanup();
  };
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} did not start within 60 s`)), 60_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  }).catch((error: unknown) => {
    stop();
    throw error;
  });
  return { url: `http://127.0.0.1:${port}`, stop, workerPids: () => (child.pid ? childPids(child.pid) : []) };
}

/** The list's ceiling: bench/bare-server.mjs answering `pages` (path -> body) with `workers` workers. */
export function startBareListCluster(
  port: number,
  workers: number,
  pages: Record<string, string>,
): Promise<BareCluster> {
  const dir = mkdtempSync(`${tmpdir()}/pick-bare-`);
  writeFileSync(`${dir}/pages.json`, JSON.stringify(pages));
  return startBare('bare-server.mjs', port, [String(workers), `${dir}/pages.json`], {}, () =>
    rmSync(dir, { recursive: true, force: true }),
  );
}

/**
 * The claim's ceiling: bench/bare-claim-server.mjs (token check and Pick's claim script, nothing
 * else) with `workers` workers, deciding on the coupon whose Redis keys start with `keyPrefix`.
 */
export function startBareClaimCluster(
  port: number,
  workers: number,
  options: {
    jwtSecret: string;
    keyPrefix: string;
    redisHost: string;
    redisPort: number;
    redisDb: number;
    /** Node flags for its processes (bench:profile: --cpu-prof). */
    nodeOptions?: string;
  },
): Promise<BareCluster> {
  return startBare('bare-claim-server.mjs', port, [String(workers)], {
    ...(options.nodeOptions && { NODE_OPTIONS: options.nodeOptions }),
    BARE_JWT_SECRET: options.jwtSecret,
    BARE_KEY_PREFIX: options.keyPrefix,
    BARE_REDIS_HOST: options.redisHost,
    BARE_REDIS_PORT: String(options.redisPort),
    BARE_REDIS_DB: String(options.redisDb),
  });
}

/** A claim request taking the next member of `plan` each time; records each 202's time (epoch ms) by member. */
/** A claim window around now: the event started a minute ago and ends in an hour. */
export function benchWindow(now = Date.now()): { startsAt: string; endsAt: string } {
  return { startsAt: new Date(now - 60_000).toISOString(), endsAt: new Date(now + 3600_000).toISOString() };
}

/** A coupon of the event `window` for a benchmark's claims (10% off, no minimum), `maxIssuance` of them. */
export function benchCoupon(window: { startsAt: string; endsAt: string }, name: string, maxIssuance: number) {
  return {
    name,
    discountType: 'PERCENTAGE',
    discountValue: 10,
    minimumProductPrice: 0,
    validFrom: window.startsAt,
    validUntil: window.endsAt,
    maxIssuance,
  };
}

/**
 * How many claims warm a claim server up before it is measured: the same number for Pick and the bare
 * claim server, every member three times over. A warm-up of a fixed duration warmed the faster server
 * more: a member's token is verified once per worker (HMAC and JSON, ~40 us) and remembered, a member's
 * claims land on either worker, so the slower server met more first-time tokens in the measured rush
 * (each member on one worker only: one in two; after three visits: one in eight, for both alike).
 */
export const claimWarmUp = (members: readonly unknown[]): number => members.length * 3;

export function claimRequest(
  path: string,
  plan: { id: string; accessToken: string }[],
  acceptedAt: Map<string, number>,
): autocannon.Request {
  let next = 0;
  return {
    method: 'POST',
    path,
    // autocannon keeps one context per connection, and a connection has one request out at a time.
    setupRequest: (request, context) => {
      const member = plan[next++ % plan.length];
      (context as { memberId?: string }).memberId = member.id;
      return { ...request, headers: { ...request.headers, authorization: `Bearer ${member.accessToken}` } };
    },
    onResponse: (status, _body, context) => {
      if (status === 202) acceptedAt.set((context as { memberId: string }).memberId, Date.now());
    },
  };
}
