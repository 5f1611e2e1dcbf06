/**
 * FCFS coupon benchmark (`npm run bench -- coupons`, or alone:
 * `node --import @swc-node/register/esm-register perf/bench/coupons.ts`).
 *
 * One run, one machine: a PM2 cluster of dist/ on its own database (pick_bench_coupons) and Redis prefix,
 * N members minted in bulk (tokens signed locally, no logins), then
 *   1. the cached catalog list under load (the reference for the ratio),
 *   2. a rush of claims with duplicates (each member 1-3 times, shuffled) against a coupon of S,
 *      with the persistence queue paused globally so the claim path is measured alone,
 *   3. the queue resumed: time until every accepted claim is a MySQL row (the drain, rows/s).
 * Checks the outcome (accepted = min(S, members), rows = accepted, one per member) and records
 * claims accepted and rows in MySQL over time for charts.
 *
 * Settings (env): BENCH_MEMBERS (10000), BENCH_STOCK (5000), BENCH_CONNECTIONS (100),
 * BENCH_LIST_SECONDS (8), PICK_BENCH_INSTANCES (2), PICK_BENCH_PORT (4480), PICK_BENCH_DB (pick_bench_coupons).
 */
import 'reflect-metadata';
import { MikroORM } from '@mikro-orm/mysql';
import Bull from 'bull';
import { Redis } from 'ioredis';
import { loadConfig } from '../../config/env.js';
import { ormOptions } from '../../config/mikro-orm.js';
import { mintMembers } from '../../src/cli/mint-members.js';
import { couponKeys } from '../../src/coupons/coupon-stock.js';
import { claimPlan } from '../../src/testing/claim-rush.js';
import { ISSUANCE_QUEUE } from '../../src/coupons/issuance.queue.js';
import { MemberRole } from '../../src/members/member.entity.js';
import { redisOptions } from '../../src/redis/redis-options.js';
import { Pm2Cluster } from '../../src/testing/cluster.js';
import { persistedRows } from '../../src/testing/invariants.js';
import { buildAndSeed, machine, runLoad, writeResult, type BenchResult } from './support.js';

const int = (name: string, fallback: number) => Number(process.env[name] ?? fallback);

export default async function run(): Promise<BenchResult> {
  const startedAt = new Date().toISOString();
  const membersWanted = int('BENCH_MEMBERS', 10_000);
  const stock = int('BENCH_STOCK', 5_000);
  const connections = int('BENCH_CONNECTIONS', 100);
  const listSeconds = int('BENCH_LIST_SECONDS', 8);
  const port = int('PICK_BENCH_PORT', 4480);
  const env: Record<string, string> = {
    NODE_ENV: 'test',
    DB_DRIVER: process.env.DB_DRIVER ?? 'mariadb',
    DB_NAME: process.env.PICK_BENCH_DB ?? 'pick_bench_coupons',
    REDIS_DB: process.env.PICK_BENCH_REDIS_DB ?? '0',
    REDIS_PREFIX: 'pick-bench-coupons',
    LOG_LEVEL: 'warn',
    JWT_ACCESS_TTL_SECONDS: '7200',
  };
  const config = loadConfig({ ...process.env, ...env });
  const log = (message: string) => console.log(`[coupons bench] ${message}`);

  log('building dist/ and resetting the bench database');
  buildAndSeed(env, 'ignore');

  const orm = await MikroORM.init(ormOptions(config));
  const redis = new Redis(redisOptions(config));
  const queue = new Bull(ISSUANCE_QUEUE, { prefix: `${config.REDIS_PREFIX}:bull`, redis: redisOptions(config) });
  // Leftovers of an earlier run under this prefix (the database was just reset).
  for (const key of await redis.keys(`${config.REDIS_PREFIX}:*`)) await redis.del(key);
  const cluster = new Pm2Cluster({ name: 'bench-coupons', port, instances: int('PICK_BENCH_INSTANCES', 2), env });
  try {
    const mintStarted = performance.now();
    const [admin] = await mintMembers(orm, config, { count: 1, role: MemberRole.ADMIN, prefix: 'benchadm' });
    const members = await mintMembers(orm, config, { count: membersWanted, prefix: 'bench' });
    const mintMs = performance.now() - mintStarted;
    log(`minted ${members.length} members in ${Math.round(mintMs)} ms`);
    await cluster.stop(); // a daemon left by an aborted run would still hold the port
    await cluster.start();

    const now = Date.now();
    const window = { startsAt: new Date(now - 60_000).toISOString(), endsAt: new Date(now + 3600_000).toISOString() };
    const created = await cluster.http.post(
      '/api/admin/events',
      {
        title: 'Bench rush',
        ...window,
        coupons: [
          {
            name: 'Bench coupon',
            discountType: 'PERCENTAGE',
            discountValue: 10,
            minimumProductPrice: 0,
            validFrom: window.startsAt,
            validUntil: window.endsAt,
            maxIssuance: stock,
          },
          // A coupon of its own for the claim path's warm-up, so the measured coupon starts untouched.
          {
            name: 'Warm-up coupon',
            discountType: 'PERCENTAGE',
            discountValue: 5,
            minimumProductPrice: 0,
            validFrom: window.startsAt,
            validUntil: window.endsAt,
            maxIssuance: 1_000_000,
          },
        ],
      },
      admin.accessToken,
    );
    if (created.status !== 201) throw new Error(`event: ${created.status} ${JSON.stringify(created.body)}`);
    const eventId: string = created.body.id;
    const couponId: string = created.body.coupons[0].id;
    const keys = couponKeys(config.REDIS_PREFIX, couponId);

    log(`cached catalog list for ${listSeconds} s`);
    await runLoad({ url: `${cluster.url}/api/general/products`, connections: 20, duration: 2 }); // warm every worker's cache
    const list = await runLoad({ url: `${cluster.url}/api/general/products`, connections, duration: listSeconds });

    // The same 2 s warm-up the list got (JIT, connection pools), on the warm-up coupon; its
    // claims are persisted before the measured rush starts.
    const warmPath = `/api/events/${eventId}/coupons/${created.body.coupons[1].id}/issue`;
    let warmNext = 0;
    log('claim path warm-up for 2 s');
    await runLoad({
      url: cluster.url,
      connections: 20,
      duration: 2,
      requests: [
        {
          method: 'POST',
          path: warmPath,
          setupRequest: (request) => ({
            ...request,
            headers: {
              ...request.headers,
              authorization: `Bearer ${members[warmNext++ % members.length].accessToken}`,
            },
          }),
        },
      ],
    });
    for (const deadline = performance.now() + 60_000; performance.now() < deadline;) {
      const counts = await queue.getJobCounts();
      if (counts.waiting + counts.active + counts.delayed === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    // The claim rush, with persistence paused for every worker: the claim path alone.
    await queue.pause();
    const plan = claimPlan(members, 3, 7);
    let next = 0;
    const claimPath = `/api/events/${eventId}/coupons/${couponId}/issue`;
    const series: Record<string, [number, number][]> = { claimsAccepted: [], rowsInMysql: [] };
    const t0 = performance.now();
    let sampling = true;
    const countRows = () => persistedRows(orm.em, couponId);
    const sampler = (async () => {
      while (sampling) {
        const at = Number(((performance.now() - t0) / 1000).toFixed(2));
        try {
          series.claimsAccepted.push([at, await redis.scard(keys.members)]);
          series.rowsInMysql.push([at, await countRows()]);
        } catch (error) {
          log(`sample at ${at} s failed: ${(error as Error).message}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    })();
    log(`rush: ${plan.length} claims by ${members.length} members, stock ${stock}, ${connections} connections`);
    const claims = await runLoad({
      url: cluster.url,
      connections,
      amount: plan.length,
      requests: [
        {
          method: 'POST',
          path: claimPath,
          setupRequest: (request) => ({
            ...request,
            headers: { ...request.headers, authorization: `Bearer ${plan[next++ % plan.length].accessToken}` },
          }),
        },
      ],
    });
    const accepted = await redis.scard(keys.members);
    const pendingAtResume = await redis.zcard(keys.pending);

    log(`drain: resuming persistence of ${pendingAtResume} pending claims`);
    const drainStarted = performance.now();
    await queue.resume();
    let rows = await countRows();
    while (rows < accepted && performance.now() - drainStarted < 120_000) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      rows = await countRows();
    }
    const drainSec = (performance.now() - drainStarted) / 1000;
    sampling = false;
    await sampler;
    const distinct = Number(
      (
        await orm.em
          .fork()
          .getConnection()
          .execute<{ n: number }[]>('select count(distinct member_id) n from member_coupon where coupon_id = ?', [
            couponId,
          ])
      )[0].n,
    );

    const expectedAccepted = Math.min(stock, members.length);
    const notes = [
      `${machine().cores} cores shared by the cluster (${cluster.options.instances} workers), MariaDB, Redis and the load generator (autocannon, in this process)`,
      'claims measured with the persistence queue paused globally; the drain measured alone right after (queue resumed)',
      `claims: ${claims.statuses['2xx']} accepted (202), ${claims.statuses['4xx']} rejected (409), ${claims.statuses['5xx']} 5xx, ${claims.errors} errors`,
      `outcome: accepted ${accepted} (expected ${expectedAccepted}), rows ${rows}, distinct members ${distinct}`,
    ];
    if (accepted !== expectedAccepted || rows !== accepted || distinct !== rows || claims.statuses['2xx'] !== accepted)
      notes.push('OUTCOME WRONG: see the figures');
    const result: BenchResult = {
      name: 'coupons',
      startedAt,
      ...machine(),
      figures: {
        members: members.length,
        stock,
        claims: claims.requests,
        accepted: claims.statuses['2xx'],
        rejected: claims.statuses['4xx'],
        serverErrors: claims.statuses['5xx'],
        claimReqPerSec: claims.reqPerSec,
        claimP50Ms: claims.p50Ms,
        claimP99Ms: claims.p99Ms,
        listReqPerSec: list.reqPerSec,
        listP50Ms: list.p50Ms,
        listP99Ms: list.p99Ms,
        drainSec: Number(drainSec.toFixed(3)),
        drainRowsPerSec: Math.round(rows / drainSec),
        rowsInMysql: rows,
        distinctMembers: distinct,
        overIssued: Math.max(0, rows - stock),
        mintMembersMs: Math.round(mintMs),
      },
      ratios: { claimOverCachedList: Number((claims.reqPerSec / list.reqPerSec).toFixed(3)) },
      targets: { claimOverCachedList: 0.5 },
      series,
      notes,
    };
    log(JSON.stringify({ figures: result.figures, ratios: result.ratios, notes }, null, 2));
    return result;
  } finally {
    await cluster.stop();
    await queue.close().catch(() => undefined);
    redis.disconnect();
    await orm.close(true);
  }
}

if (import.meta.main) {
  run()
    .then((result) => console.log(`[coupons bench] wrote ${writeResult(result)}`))
    .catch((error: unknown) => {
      console.error(error);
      process.exit(1);
    });
}
