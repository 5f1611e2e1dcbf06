/**
 * Where a worker's CPU goes during a claim rush, as a top-down table (`npm run bench:profile`): a PM2
 * cluster of dist/ whose workers run with --cpu-prof (PICK_NODE_ARGS, ecosystem.config.js), a warm-up,
 * a rush of BENCH_PROFILE_CLAIMS claims (each member 1-3 times, persistence on, as the coupons bench's
 * live rush), then the workers stop and write their profiles. Writes
 * perf/profiles/<short commit>-claims.md: busy time by component (a package of node_modules, a folder
 * of src/, Node's internals, V8's GC) and the functions with the most self time, summed over the
 * workers. `npm run bench:profile -- summarize <dir>` summarizes .cpuprofile files already written.
 *
 * Both rushes run at BENCH_PROFILE_RATE claims a second (3000; 0: as fast as answered). At the machine's
 * limit, the workers share the cores with Redis, MariaDB and the load generator, and V8's sampler
 * charges the time a worker spends preempted (a socket write that woke another process) to the function
 * it was in: socket writes looked like a quarter of a claim. Below the limit, a profile's busy time is
 * the main thread's CPU as /proc counts it. The report adds each side's CPU per claim by thread (/proc)
 * and the gap by component, Pick's minus the bare claim's, in µs per claim.
 *
 * Settings (env): BENCH_PROFILE_CLAIMS (40000), BENCH_PROFILE_RATE (3000), BENCH_CONNECTIONS (100),
 * PICK_BENCH_INSTANCES (2), PICK_BENCH_PORT (4490), PICK_BENCH_PROFILE_DB (pick_bench_profile).
 */
import 'reflect-metadata';
import { MikroORM } from '@mikro-orm/mysql';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { loadConfig } from '../../config/env.js';
import { ormOptions } from '../../config/mikro-orm.js';
import { mintMembers } from '../../src/cli/mint-members.js';
import { MemberRole } from '../../src/members/member.entity.js';
import { claimPlan } from '../../src/testing/claim-rush.js';
import { Pm2Cluster } from '../../src/testing/cluster.js';
import { Redis } from 'ioredis';
import type { AppConfig } from '../../config/env.js';
import { redisOptions } from '../../src/redis/redis-options.js';
import { redisServerFacts } from '../../src/redis/redis-server.js';
import {
  benchCoupon,
  benchWindow,
  buildAndSeed,
  claimRequest,
  claimWarmUp,
  runLoad,
  setting,
  startBareClaimCluster,
  threadsCpuSec,
  type LoadResult,
} from './support.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  hitCount?: number;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  /** µs since the previous sample (the first: since startTime) */
  timeDeltas: number[];
}

const root = new URL('../..', import.meta.url).pathname;

/** The component a frame belongs to: a package, a folder of the app, Node's internals, or V8 itself. */
export function componentOf(frame: ProfileNode['callFrame']): string {
  const { url, functionName } = frame;
  if (!url)
    return ['(garbage collector)', '(program)', '(idle)', '(root)'].includes(functionName)
      ? functionName
      : `native ${functionName}`;
  // The innermost node_modules: a nested dependency is its own package.
  const modules = /.*node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (modules) return modules[1];
  const app = /\/dist\/(src\/[^/]+|config)\//.exec(url);
  if (app) return app[1];
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  return url.replace(/^file:\/\//, '').replace(root, '');
}

/** A function as the tables name it: its component and name (`src/coupons claim`). */
const functionKey = (frame: ProfileNode['callFrame']) =>
  frame.url ? `${componentOf(frame)} ${frame.functionName || '(anonymous)'}` : componentOf(frame);

/**
 * The two tables of one or more profiles (self time summed), as markdown. `during`: only the samples
 * from the first to the last one in that function (`src/coupons claim`: the claims, not the boot
 * before them nor the shutdown after).
 */
/** Self time (ms) of one or more profiles' window, by component and function; the app's inclusive time. */
export interface ProfileTimes {
  profiles: number;
  busy: number;
  total: number;
  byComponent: Map<string, number>;
  byFunction: Map<string, number>;
  appInclusive: Map<string, number>;
}

export function measure(
  allProfiles: CpuProfile[],
  during?: string,
  /** Only the last this many ms of that window (the measured rush, not the warm-up's first requests). */
  lastMs?: number,
): ProfileTimes {
  const byComponent = new Map<string, number>();
  const byFunction = new Map<string, number>();
  const appInclusive = new Map<string, number>();
  let busy = 0;
  let total = 0;
  // A process that never ran `during` (a bare cluster's primary) is left out.
  const profiles = during
    ? allProfiles.filter((profile) => {
        const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
        return profile.samples.some((id) => functionKey(nodes.get(id)!.callFrame) === during);
      })
    : allProfiles;
  for (const profile of profiles) {
    const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
    const inWindow = (index: number) => index >= first && index <= last;
    let first = 0;
    let last = profile.samples.length - 1;
    if (during) {
      const marked = profile.samples.flatMap((id, index) =>
        functionKey(nodes.get(id)!.callFrame) === during ? [index] : [],
      );
      if (marked.length > 0) [first, last] = [marked[0], marked[marked.length - 1]];
    }
    if (lastMs !== undefined && profile.timeDeltas) {
      let elapsedUs = 0;
      for (let index = last; index > first; index--) {
        elapsedUs += profile.timeDeltas[index];
        if (elapsedUs > lastMs * 1000) {
          first = index;
          break;
        }
      }
    }
    const hits = new Map<number, number>();
    profile.samples.forEach((id, index) => {
      if (inWindow(index)) hits.set(id, (hits.get(id) ?? 0) + 1);
    });
    // A sample stands for the time to the next one: the window's mean interval.
    const deltas = profile.timeDeltas ?? [];
    const intervals = last - first;
    const msPerSample =
      deltas.length > 0 && intervals > 0
        ? deltas.slice(first + 1, last + 1).reduce((sum, d) => sum + d, 0) / 1000 / intervals
        : (profile.endTime - profile.startTime) / 1000 / Math.max(1, profile.samples.length);
    // Inclusive time of the app's own functions (src/…): their self time and everything they called,
    // counted once per stack (a recursive or re-entered function is not counted twice).
    const inclusive = (node: ProfileNode, onStack: Set<string>): number => {
      const key = functionKey(node.callFrame);
      const app = key.startsWith('src/') && !onStack.has(key);
      if (app) onStack.add(key);
      let ms = (hits.get(node.id) ?? 0) * msPerSample;
      for (const child of node.children ?? []) ms += inclusive(nodes.get(child)!, onStack);
      if (app) {
        onStack.delete(key);
        appInclusive.set(key, (appInclusive.get(key) ?? 0) + ms);
      }
      return ms;
    };
    const children = new Set(profile.nodes.flatMap((node) => node.children ?? []));
    const roots = profile.nodes.filter((node) => !children.has(node.id));
    for (const rootNode of roots) inclusive(rootNode, new Set());
    for (const node of profile.nodes) {
      const ms = (hits.get(node.id) ?? 0) * msPerSample;
      if (ms === 0) continue;
      total += ms;
      if (node.callFrame.functionName === '(idle)') continue;
      busy += ms;
      const component = componentOf(node.callFrame);
      byComponent.set(component, (byComponent.get(component) ?? 0) + ms);
      const where = functionKey(node.callFrame);
      byFunction.set(where, (byFunction.get(where) ?? 0) + ms);
    }
  }
  return { profiles: profiles.length, busy, total, byComponent, byFunction, appInclusive };
}

export function summarize(
  allProfiles: CpuProfile[],
  title: string,
  during?: string,
  /** Only the last this many ms of that window (the measured rush, not the warm-up's first requests). */
  lastMs?: number,
): string {
  const { profiles, busy, total, byComponent, byFunction, appInclusive } = measure(allProfiles, during, lastMs);
  const rows = (map: Map<string, number>, limit: number) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(([name, ms]) => `| ${name} | ${Math.round(ms)} | ${((ms / busy) * 100).toFixed(1)}% |`)
      .join('\n');
  return [
    `# ${title}`,
    '',
    `${profiles} worker profiles, ${Math.round(busy)} ms busy of ${Math.round(total)} ms sampled.`,
    '',
    '## Busy time by component (self time)',
    '',
    '| component | ms | share of busy |',
    '|---|---:|---:|',
    rows(byComponent, 30),
    '',
    '## Functions with the most self time',
    '',
    '| function | ms | share of busy |',
    '|---|---:|---:|',
    rows(byFunction, 40),
    '',
    "## The app's functions, inclusive (self time and everything they called)",
    '',
    '| function | ms | share of busy |',
    '|---|---:|---:|',
    rows(appInclusive, 40),
    '',
  ]
    .filter((line, index, lines) => appInclusive.size > 0 || index < lines.length - 6)
    .join('\n');
}

type Claimer = { id: string; accessToken: string };

/** The bare claim server's token check (once per claim), as the tables name it. */
const BARE_HANDLER = 'perf/bench/bare-claim-server.mjs member';

/**
 * The same claims against the bare claim server (bench/bare-claim-server.mjs: the token check and Pick's
 * claim script, nothing else), its workers profiled too: the side-by-side table of where Pick's extra
 * CPU per claim goes. Its coupon gets the same stock, stamped for this Redis server.
 */
async function profileBareClaims(
  config: AppConfig,
  dir: string,
  port: number,
  members: Claimer[],
  plan: Claimer[],
): Promise<{ profiles: CpuProfile[]; ms: number; perSec: number; threads: { main: number; helpers: number } }> {
  mkdirSync(dir, { recursive: true });
  const redis = new Redis(redisOptions(config));
  const keyPrefix = `${config.REDIS_PREFIX}:bench-bare:{bare}`;
  try {
    const { runId } = redisServerFacts(await redis.info('server'));
    const reset = async () => {
      const keys = await redis.keys(`${keyPrefix}:*`);
      if (keys.length) await redis.del(...keys);
      await redis.hset(`${keyPrefix}:state`, 'max', Math.floor(members.length / 2), 'epoch', runId ?? '');
    };
    const bare = await startBareClaimCluster(port, setting('PICK_BENCH_INSTANCES', 2), {
      jwtSecret: config.JWT_ACCESS_SECRET,
      keyPrefix,
      redisHost: config.REDIS_HOST,
      redisPort: config.REDIS_PORT,
      redisDb: config.REDIS_DB,
      nodeOptions: `--cpu-prof --cpu-prof-dir=${dir}`,
    });
    let measured: LoadResult;
    let threads = { main: 0, helpers: 0 };
    try {
      console.log('[profile] the same claims on the bare claim server');
      await reset();
      await runLoad({
        url: bare.url,
        connections: 20,
        amount: claimWarmUp(members),
        requests: [claimRequest('/claim', members, new Map())],
      });
      await reset();
      const before = threadsCpuSec(bare.workerPids());
      measured = await runLoad({
        url: bare.url,
        connections: setting('BENCH_CONNECTIONS', 100),
        amount: plan.length,
        overallRate: setting('BENCH_PROFILE_RATE', 3000) || undefined,
        requests: [claimRequest('/claim', plan, new Map())],
      });
      threads = cpuDelta(before, threadsCpuSec(bare.workerPids()));
    } finally {
      bare.stop();
    }
    // Its workers write their profiles as they exit.
    for (const deadline = Date.now() + 10_000; Date.now() < deadline;) {
      if (readdirSync(dir).filter((file) => file.endsWith('.cpuprofile')).length >= 2) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    return { profiles: readProfiles(dir), ms: measured.durationSec * 1000, perSec: measured.reqPerSec, threads };
  } finally {
    await redis.quit();
  }
}

const us = (sec: number, claims: number) => Math.round((sec / claims) * 1e6);

const cpuDelta = (before: { main: number; helpers: number }, after: { main: number; helpers: number }) => ({
  main: after.main - before.main,
  helpers: after.helpers - before.helpers,
});

/**
 * Where Pick's claim spends more than the bare claim: each component's self time in µs per claim, Pick's,
 * the bare claim's and the difference, largest difference first (the components of either side's 30
 * largest, and every app folder), then the busy totals.
 */
export function gapTable(pick: ProfileTimes, bare: ProfileTimes, claims: number): string {
  const perClaim = (ms: number) => (ms * 1000) / claims;
  const top = (times: ProfileTimes) =>
    [...times.byComponent]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 30)
      .map(([name]) => name);
  const names = new Set([
    ...top(pick),
    ...top(bare),
    ...[...pick.byComponent.keys()].filter((n) => n.startsWith('src/')),
  ]);
  const rows = [...names]
    .map((name) => {
      const mine = perClaim(pick.byComponent.get(name) ?? 0);
      const theirs = perClaim(bare.byComponent.get(name) ?? 0);
      return { name, mine, theirs, gap: mine - theirs };
    })
    .sort((a, b) => b.gap - a.gap);
  const cell = (value: number) => value.toFixed(1);
  return [
    '## The gap to the bare claim, by component (self time, µs per claim)',
    '',
    '| component | Pick | bare claim | gap |',
    '|---|---:|---:|---:|',
    ...rows.map((row) => `| ${row.name} | ${cell(row.mine)} | ${cell(row.theirs)} | ${cell(row.gap)} |`),
    `| **busy (main thread)** | **${cell(perClaim(pick.busy))}** | **${cell(perClaim(bare.busy))}** | **${cell(perClaim(pick.busy - bare.busy))}** |`,
    '',
  ].join('\n');
}

const readProfiles = (dir: string): CpuProfile[] =>
  readdirSync(dir)
    .filter((file) => file.endsWith('.cpuprofile'))
    .map((file) => JSON.parse(readFileSync(`${dir}/${file}`, 'utf8')) as CpuProfile);

async function profileClaims(): Promise<string> {
  const claims = setting('BENCH_PROFILE_CLAIMS', 40_000);
  const connections = setting('BENCH_CONNECTIONS', 100);
  const port = setting('PICK_BENCH_PORT', 4490);
  const profileDir = mkdtempSync(`${tmpdir()}/pick-cpu-profile-`);
  const env: Record<string, string> = {
    NODE_ENV: 'test',
    DB_DRIVER: process.env.DB_DRIVER ?? 'mariadb',
    DB_NAME: process.env.PICK_BENCH_PROFILE_DB ?? 'pick_bench_profile',
    REDIS_DB: process.env.PICK_BENCH_REDIS_DB ?? '0',
    REDIS_PREFIX: 'pick-bench-profile',
    LOG_LEVEL: 'warn',
    JWT_ACCESS_TTL_SECONDS: '7200',
    PICK_NODE_ARGS: `--cpu-prof --cpu-prof-dir=${profileDir}`,
  };
  const config = loadConfig({ ...process.env, ...env });
  console.log(`[profile] building dist/ and resetting ${env.DB_NAME}`);
  buildAndSeed(env, 'ignore');
  const orm = await MikroORM.init(ormOptions(config));
  const cluster = new Pm2Cluster({ name: 'bench-profile', port, instances: setting('PICK_BENCH_INSTANCES', 2), env });
  const rush = { ms: 0, perSec: 0, claims: 0, threads: { main: 0, helpers: 0 } };
  const load: { members: Claimer[]; plan: Claimer[] } = { members: [], plan: [] };
  try {
    const [admin] = await mintMembers(orm, config, { count: 1, role: MemberRole.ADMIN, prefix: 'profadm' });
    const members = await mintMembers(orm, config, { count: Math.ceil(claims / 2), prefix: 'prof' });
    load.members = members;
    await cluster.stop();
    await cluster.start();
    const window = benchWindow();
    const coupon = (name: string, maxIssuance: number) => benchCoupon(window, name, maxIssuance);
    const created = await cluster.http.post(
      '/api/admin/events',
      {
        title: 'Profile rush',
        ...window,
        coupons: [coupon('Profiled', Math.floor(members.length / 2)), coupon('Warm-up', 1_000_000)],
      },
      admin.accessToken,
    );
    if (created.status !== 201) throw new Error(`event: ${created.status} ${JSON.stringify(created.body)}`);
    const path = (index: number) => `/api/events/${created.body.id}/coupons/${created.body.coupons[index].id}/issue`;
    console.log('[profile] warm-up');
    await runLoad({
      url: cluster.url,
      connections: 20,
      amount: claimWarmUp(members),
      requests: [claimRequest(path(1), members, new Map())],
    });
    const plan = claimPlan(members, 3, 7).slice(0, claims);
    load.plan = plan;
    console.log(`[profile] rush: ${plan.length} claims`);
    const workerPids = (await cluster.workers())
      .filter((worker) => worker.name === cluster.options.name)
      .map((worker) => worker.pid);
    const before = threadsCpuSec(workerPids);
    const measured = await runLoad({
      url: cluster.url,
      connections,
      amount: plan.length,
      overallRate: setting('BENCH_PROFILE_RATE', 3000) || undefined,
      requests: [claimRequest(path(0), plan, new Map())],
    });
    rush.threads = cpuDelta(before, threadsCpuSec(workerPids));
    Object.assign(rush, { ms: measured.durationSec * 1000, perSec: measured.reqPerSec, claims: plan.length });
    console.log(`[profile] ${measured.reqPerSec} req/s; stopping the workers (they write their profiles)`);
  } finally {
    await cluster.stop();
    await orm.close(true);
  }
  const bare = await profileBareClaims(config, `${profileDir}/bare`, port + 1, load.members, load.plan);
  const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root }).toString().trim();
  mkdirSync(`${root}perf/profiles`, { recursive: true });
  const out = `${root}perf/profiles/${commit}-claims.md`;
  const pickProfiles = readProfiles(profileDir);
  const perClaim = (threads: { main: number; helpers: number }) =>
    `main thread ${us(threads.main, rush.claims)} µs, V8's and libuv's other threads ${us(threads.helpers, rush.claims)} µs`;
  writeFileSync(
    out,
    `# CPU profile of a claim rush at ${commit}\n\n` +
      `${rush.claims} claims (each member 1-3 times, persistence on) after ${claimWarmUp(load.members)} warm-up claims, ` +
      `at ${rush.perSec} req/s (Pick) and ${bare.perSec} req/s (the bare claim), ${setting('BENCH_PROFILE_RATE', 3000) || 'unlimited'} asked (npm run bench:profile).\n\n` +
      `Worker CPU per claim over the rush (/proc, all workers): Pick ${perClaim(rush.threads)}; the bare claim ${perClaim(bare.threads)}.\n\n` +
      gapTable(
        measure(pickProfiles, 'src/coupons claim', rush.ms),
        measure(bare.profiles, BARE_HANDLER, bare.ms),
        rush.claims,
      ) +
      '\n' +
      summarize(pickProfiles, `Pick's workers`, 'src/coupons claim', rush.ms)
        .replace(/^# /, '## ')
        .replace(/\n## /g, '\n### ') +
      `\nEach worker over the rush: the ${Math.round(rush.ms)} ms up to its last sample in ClaimsService.claim.\n\n` +
      summarize(
        bare.profiles,
        'The bare claim (perf/bench/bare-claim-server.mjs), the same claims right after',
        BARE_HANDLER,
        bare.ms,
      )
        .replace(/^# /, '## ')
        .replace(/\n## /g, '\n### ') +
      `\nEach bare worker over its rush (the token check and the claim script only).\n`,
  );
  return out;
}

if (import.meta.main) {
  const [command, dir] = process.argv.slice(2);
  (command === 'summarize'
    ? Promise.resolve(summarize(readProfiles(dir ?? '.'), `CPU profiles in ${dir}`))
    : profileClaims()
  ).then(
    (out) => console.log(out),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
