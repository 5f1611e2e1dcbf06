/**
 * Replica-acknowledged claims (issue 24; `npm run bench -- replicas`): the claim rush with
 * REDIS_CLAIM_REPLICAS=1 against 0, side by side in one run.
 *
 * Its own Redis primary with one replica (production's AOF, min-replicas-to-write 1), and two PM2
 * clusters of dist/ on it, one per setting, on the same database. Each rush sends BENCH_REPLICA_CLAIMS
 * claims by as many distinct members (fresh ones each time) on a stock above that: every claim is
 * accepted, so every claim waits for its acknowledgement (the worst case: refusals other than a
 * duplicate wait for nothing). The rushes alternate, 0 1 0 1, and each setting's rate is the mean of
 * its two. WAITs are counted on the primary (INFO commandstats) over the acknowledged rushes.
 *
 * Settings (env): BENCH_REPLICA_CLAIMS (10000), BENCH_CONNECTIONS (100), PICK_BENCH_INSTANCES (2),
 * PICK_BENCH_REPLICAS_PORT (4484: the clusters on it and the next, Redis on the two after),
 * PICK_BENCH_REPLICAS_DB (pick_bench_replicas).
 */
import 'reflect-metadata';
import { MikroORM } from '@mikro-orm/mysql';
import { loadConfig } from '../../config/env.js';
import { ormOptions } from '../../config/mikro-orm.js';
import { mintMembers, type MintedMember } from '../../src/cli/mint-members.js';
import { MemberRole } from '../../src/members/member.entity.js';
import { Pm2Cluster } from '../../src/testing/cluster.js';
import { OwnRedis } from '../../src/testing/own-services.js';
import { until } from '../../src/testing/poll.js';
import {
  benchCoupon,
  benchWindow,
  buildAndSeed,
  claimRequest,
  machine,
  round2,
  runLoad,
  setting,
  writeResult,
  type BenchResult,
  type LoadResult,
} from './support.js';

/** `calls` of one command in INFO commandstats. */
const callsOf = (stats: string, command: string) =>
  Number(new RegExp(`^cmdstat_${command}:calls=(\\d+)`, 'm').exec(stats)?.[1] ?? 0);

export default async function run(): Promise<BenchResult> {
  const startedAt = new Date().toISOString();
  const claimsPerRush = setting('BENCH_REPLICA_CLAIMS', 10_000);
  const connections = setting('BENCH_CONNECTIONS', 100);
  const port = setting('PICK_BENCH_REPLICAS_PORT', 4484);
  const primary = new OwnRedis(port + 2, { aof: true, args: ['--min-replicas-to-write', '1'] });
  const replica = new OwnRedis(port + 3, { aof: true, args: ['--replicaof', '127.0.0.1', String(port + 2)] });
  const env: Record<string, string> = {
    NODE_ENV: 'test',
    DB_DRIVER: process.env.DB_DRIVER ?? 'mariadb',
    DB_NAME: process.env.PICK_BENCH_REPLICAS_DB ?? 'pick_bench_replicas',
    REDIS_PORT: String(primary.port),
    REDIS_DB: '0',
    REDIS_PREFIX: 'pick-bench-replicas',
    LOG_LEVEL: 'warn',
    JWT_ACCESS_TTL_SECONDS: '7200',
  };
  const config = loadConfig({ ...process.env, ...env });
  const log = (message: string) => console.log(`[replicas bench] ${message}`);
  const instances = setting('PICK_BENCH_INSTANCES', 2);
  const clusters = [0, 1].map(
    (replicas) =>
      new Pm2Cluster({
        name: `bench-replicas-${replicas}`,
        port: port + replicas,
        instances,
        env: { ...env, REDIS_CLAIM_REPLICAS: String(replicas) },
      }),
  );

  log('starting a Redis primary with one replica; building dist/ and resetting the bench database');
  await primary.start({ fresh: true });
  await replica.start({ fresh: true });
  await until(
    'the replica in sync',
    () => primary.cli('info', 'replication'),
    (info) => /^slave0:.*state=online/m.test(info),
    30_000,
    200,
  );
  buildAndSeed(env, 'ignore');
  const orm = await MikroORM.init(ormOptions(config));
  try {
    const [admin] = await mintMembers(orm, config, { count: 1, role: MemberRole.ADMIN, prefix: 'benchadm' });
    // Four measured rushes and two warm-ups, each by members of their own.
    const members = await mintMembers(orm, config, { count: claimsPerRush * 4 + 2_000, prefix: 'benchrep' });
    let used = 0;
    const take = (n: number): MintedMember[] => members.slice(used, (used += n));
    for (const cluster of clusters) {
      await cluster.stop(); // a daemon left by an aborted run would still hold the port
      await cluster.start();
    }
    const window = benchWindow();
    const created = await clusters[0].http.post(
      '/api/admin/events',
      {
        title: 'Replica acks bench',
        ...window,
        coupons: [benchCoupon(window, 'Every claim accepted', claimsPerRush * 10)],
      },
      admin.accessToken,
    );
    if (created.status !== 201) throw new Error(`event: ${created.status} ${JSON.stringify(created.body)}`);
    const path = `/api/events/${created.body.id}/coupons/${created.body.coupons[0].id}/issue`;

    const rush = (cluster: Pm2Cluster, claimers: MintedMember[]) =>
      runLoad({
        url: cluster.url,
        connections,
        amount: claimers.length,
        requests: [claimRequest(path, claimers, new Map())],
      });
    log('warm-up: 1,000 claims on each cluster');
    for (const cluster of clusters) await rush(cluster, take(1_000));

    const runs: Record<0 | 1, LoadResult[]> = { 0: [], 1: [] };
    let waits = 0;
    for (const round of [1, 2]) {
      for (const replicas of [0, 1] as const) {
        log(`round ${round}: ${claimsPerRush} claims with REDIS_CLAIM_REPLICAS=${replicas}`);
        const before = callsOf(primary.cli('info', 'commandstats'), 'wait');
        runs[replicas].push(await rush(clusters[replicas], take(claimsPerRush)));
        if (replicas === 1) waits += callsOf(primary.cli('info', 'commandstats'), 'wait') - before;
      }
    }
    const mean = (results: LoadResult[], pick: (result: LoadResult) => number) =>
      round2(results.reduce((sum, result) => sum + pick(result), 0) / results.length);
    const accepted = (results: LoadResult[]) => results.reduce((sum, result) => sum + result.statuses['2xx'], 0);
    const unacked = mean(runs[0], (r) => r.reqPerSec);
    const acked = mean(runs[1], (r) => r.reqPerSec);
    const notAccepted = [...runs[0], ...runs[1]].reduce((sum, r) => sum + r.requests - r.statuses['2xx'], 0);
    const result: BenchResult = {
      name: 'replicas',
      startedAt,
      ...machine(),
      figures: {
        claimsPerRush,
        unackedClaimReqPerSec: unacked,
        ackedClaimReqPerSec: acked,
        unackedClaimP50Ms: mean(runs[0], (r) => r.p50Ms),
        ackedClaimP50Ms: mean(runs[1], (r) => r.p50Ms),
        unackedClaimP99Ms: mean(runs[0], (r) => r.p99Ms),
        ackedClaimP99Ms: mean(runs[1], (r) => r.p99Ms),
        ackedClaimsAccepted: accepted(runs[1]),
        waitCalls: waits,
        waitsPerAckedClaim: Number((waits / Math.max(1, accepted(runs[1]))).toFixed(4)),
        claimsNotAccepted: notAccepted,
      },
      ratios: { ackedOverUnackedClaims: Number((acked / unacked).toFixed(3)) },
      targets: { ackedOverUnackedClaims: 0.9 },
      bounds: { claimsNotAccepted: { max: 1 } },
      notes: [
        `rounds (req/s), REDIS_CLAIM_REPLICAS=0: ${runs[0].map((r) => r.reqPerSec).join(', ')}; =1: ${runs[1].map((r) => r.reqPerSec).join(', ')}`,
        `${waits} WAITs for ${accepted(runs[1])} acknowledged claims: one WAIT per batch of claims, never one per claim`,
      ],
    };
    log(JSON.stringify({ figures: result.figures, ratios: result.ratios }, null, 2));
    return result;
  } finally {
    for (const cluster of clusters) await cluster.stop();
    await orm.close(true);
    await replica.stop();
    await primary.stop();
  }
}

if (import.meta.main) {
  run()
    .then((result) => console.log(`[replicas bench] wrote ${writeResult(result)}`))
    .catch((error: unknown) => {
      console.error(error);
      process.exit(1);
    });
}
