import type { Redis } from 'ioredis';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testPort } from '../testing/cluster.js';
import { ClusterRig } from '../testing/rig.js';
import { claimPlan, rush, tally, type ClaimOutcome } from '../testing/claim-rush.js';
import { createEvent, eventBody } from '../testing/fixtures.js';
import { waitForDrainAndCheck } from '../testing/invariants.js';
import { OwnMariaDb, OwnRedis } from '../testing/own-services.js';
import { sleep } from '../testing/poll.js';

const run = promisify(execFile);
const root = new URL('../..', import.meta.url).pathname;

/**
 * Fault tests: a 2-worker PM2 cluster on a private MariaDB (3391) and a private Redis with AOF
 * (6392), so the machine's shared services are never touched. Each test ends by checking the
 * docs/design.md invariants against MySQL: rows <= limit, one per member, every 202 has its row,
 * Redis's claimed set equals MySQL's rows, nothing left pending.
 */
describe('FCFS claims survive faults', () => {
  const mysql = new OwnMariaDb(3391);
  const redisServer = new OwnRedis(6392);
  const env = {
    DB_PORT: '3391',
    DB_NAME: 'pick_faults',
    DB_POOL_MAX: '5',
    REDIS_PORT: '6392',
    REDIS_DB: '0',
    REDIS_PREFIX: 'pick-faults',
    COUPON_PENDING_BOUND_MS: '2000',
    COUPON_SWEEP_INTERVAL_MS: '1000',
  };
  const rig = new ClusterRig({ name: 'coupons-faults', port: testPort(20), env, members: 2_200 });
  const { config, cluster, query } = rig;
  let redis: Redis;
  let admin: string;
  const take = (n: number) => rig.take(n);

  beforeAll(async () => {
    await Promise.all([mysql.start(), redisServer.start({ fresh: true })]);
    redis = await redisServer.client();
    admin = (await rig.start()).admin;
  });
  afterAll(async () => {
    await rig.stop();
    redis?.disconnect();
    await Promise.all([mysql.stop(), redisServer.stop()]);
  });

  async function checkInvariants(couponId: string, max: number, outcomes: ClaimOutcome[], label: string) {
    const report = await waitForDrainAndCheck(query, redis, config.REDIS_PREFIX, couponId, outcomes, 60_000);
    console.log(`${label}:`, tally(outcomes), {
      rows: report.rows,
      distinct: report.distinctMembers,
      redis: report.redisMembers,
      pending: report.pending,
    });
    expect(report.rows).toBeLessThanOrEqual(max);
    expect(report.distinctMembers).toBe(report.rows);
    expect(report.missing202).toEqual([]);
    expect(report.pending).toBe(0);
    expect([...report.redisSet].sort()).toEqual([...report.rowMembers].sort());
    expect(outcomes.filter((o) => o.status >= 500 && o.status !== 503)).toEqual([]);
    return report;
  }

  it('(a) kill -9 of a worker mid-rush: every 202 ends as exactly one row', async () => {
    const max = 300;
    const { eventId, couponIds } = await createEvent(cluster.http, admin, eventBody({ max }));
    const plan = claimPlan(take(500), 3, 1);
    const victim = (await cluster.workers())[0];
    const rushing = rush(cluster.url, eventId, couponIds[0], plan, { waves: 8, gapMs: 150 });
    await sleep(400);
    process.kill(victim.pid, 'SIGKILL');
    const outcomes = await rushing;
    const drainStarted = Date.now();
    const report = await checkInvariants(couponIds[0], max, outcomes, '(a) worker killed');
    console.log(`(a) drained ${Date.now() - drainStarted} ms after the rush`);
    expect(report.accepted202).toBeGreaterThan(0);
    await cluster.waitReady();
    // The victim is gone and PM2 replaced it.
    expect((await cluster.workers()).map((w) => w.pid)).not.toContain(victim.pid);
  });

  it('(c) Redis (production AOF, appendfsync everysec) crashes mid-rush and restarts: no accepted claim lost, none doubled', async () => {
    const max = 300;
    const { eventId, couponIds } = await createEvent(cluster.http, admin, eventBody({ max }));
    const plan = claimPlan(take(500), 3, 2);
    const rushing = rush(cluster.url, eventId, couponIds[0], plan, { waves: 8, gapMs: 200 });
    await sleep(500);
    await redisServer.kill();
    await sleep(1500);
    await redisServer.start();
    const outcomes = await rushing;
    expect(outcomes.some((o) => o.status === 503)).toBe(true);
    // After the restart the stock keeps counting from where it was: replay everyone refused by the outage.
    const again = await rush(
      cluster.url,
      eventId,
      couponIds[0],
      plan.filter((m) => outcomes.some((o) => o.memberId === m.id && o.status === 503)),
    );
    const all = [...outcomes, ...again];
    const report = await checkInvariants(couponIds[0], max, all, '(c) Redis restarted');
    expect(report.accepted202).toBeGreaterThan(0);
    await cluster.waitReady();
  });

  it('(b) MySQL unreachable for 10 s mid-rush, then back: claims keep being decided, all persist after', async () => {
    const max = 300;
    const { eventId, couponIds } = await createEvent(cluster.http, admin, eventBody({ max }));
    const plan = claimPlan(take(500), 3, 3);
    // Warm both workers' event cache first: claims need MySQL only on a cache miss.
    await rush(cluster.url, eventId, couponIds[0], plan.slice(0, 4));
    const rushing = rush(cluster.url, eventId, couponIds[0], plan.slice(4), { waves: 8, gapMs: 300 });
    await sleep(300);
    const down = Date.now();
    await mysql.kill();
    const outcomes = await rushing;
    const acceptedWhileDown = outcomes.filter((o) => o.status === 202).length;
    await sleep(Math.max(0, 10_000 - (Date.now() - down)));
    await mysql.start();
    console.log(`(b) MySQL down for ${Date.now() - down} ms; ${acceptedWhileDown} claims accepted during the outage`);
    const report = await checkInvariants(couponIds[0], max, outcomes, '(b) MySQL outage');
    expect(acceptedWhileDown).toBeGreaterThan(0);
    expect(report.rows).toBe(report.redisMembers);
    await cluster.waitReady();
  });

  it('(d) Redis wiped after a rush: rebuild restores it, nobody claims twice, the limit holds', async () => {
    const max = 100;
    const { eventId, couponIds } = await createEvent(cluster.http, admin, eventBody({ max }));
    const [couponId] = couponIds;
    const group = take(400);
    const plan = claimPlan(group, 2, 4);
    const first = await rush(cluster.url, eventId, couponId, plan);
    const before = await checkInvariants(couponId, max, first, '(d) first rush');
    expect(before.rows).toBe(max);

    await redis.flushall(); // our own instance: every claim mark, pending set and Bull key gone
    const { stdout } = await run(process.execPath, ['dist/src/cli/rebuild-coupons.js', '--coupon', couponId], {
      cwd: root,
      env: { ...process.env, ...env },
    });
    // The sweeper (every second here) may have rebuilt it first; either way the state is MySQL's.
    expect(JSON.parse(stdout.trim().split('\n').at(-1)!)).toEqual([
      expect.objectContaining({ couponId, issued: max, max }),
    ]);
    const second = await rush(cluster.url, eventId, couponId, group);
    expect(second.filter((o) => o.status === 202)).toEqual([]);
    for (const o of second)
      expect(o.code).toBe(before.rowMembers.has(o.memberId) ? 'COUPON_ALREADY_ISSUED' : 'COUPON_SOLD_OUT');

    // Wiped again, no command this time: the claim path rebuilds the state itself before deciding.
    await redis.flushall();
    const third = await rush(cluster.url, eventId, couponId, group);
    expect(tally(third)).toEqual({ '409 COUPON_ALREADY_ISSUED': max, '409 COUPON_SOLD_OUT': group.length - max });
    const after = await checkInvariants(couponId, max, [...first, ...second, ...third], '(d) after wipes');
    expect(after.rows).toBe(max);
  });
});
