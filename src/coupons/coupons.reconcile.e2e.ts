import type { Redis } from 'ioredis';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimPlan, rush, tally, type ClaimOutcome } from '../testing/claim-rush.js';
import { Pm2Cluster, testPort } from '../testing/cluster.js';
import { ClusterRig } from '../testing/rig.js';
import { createEvent, eventBody, mint } from '../testing/fixtures.js';
import { waitForDrainAndCheck } from '../testing/invariants.js';
import { OwnRedis } from '../testing/own-services.js';
import { sleep, until } from '../testing/poll.js';
import { couponKeys } from './coupon-stock.js';

const run = promisify(execFile);
const root = new URL('../..', import.meta.url).pathname;

/**
 * "Redis is never behind MySQL": a Redis that comes back with older data (a restored backup, a
 * replica that missed the last writes, an fsync-everysec machine crash) must never let a coupon be
 * issued past its stock, nor answer 202 to a member who already has the coupon. A 2-worker PM2
 * cluster on its own Redis with production's persistence (AOF, appendfsync everysec) and its own
 * database on the machine's MariaDB. Nobody runs a command after the restore: the app reconciles.
 */
describe('Redis that comes back with older data: reconciled with MySQL before claims are decided', () => {
  const redisPort = testPort(113);
  const redisServer = new OwnRedis(redisPort);
  const env = {
    DB_NAME: `${process.env.DB_NAME ?? 'pick_test'}_rc`,
    DB_POOL_MAX: '5',
    REDIS_PORT: String(redisPort),
    REDIS_DB: '0',
    REDIS_PREFIX: 'pick-rc',
    COUPON_SWEEP_INTERVAL_MS: '1000',
  };
  const rig = new ClusterRig({ name: 'coupons-reconcile', port: testPort(110), env, members: 6_000 });
  const { config, query } = rig;
  const cluster = rig.cluster;
  let redis: Redis;
  let admin: string;
  const take = (n: number) => rig.take(n);
  const rowMembers = (couponId: string) => rig.rowMembers(couponId);

  beforeAll(async () => {
    await redisServer.start({ fresh: true });
    redis = await redisServer.client();
    admin = (await rig.start()).admin;
  });
  afterAll(async () => {
    await rig.stop();
    redis?.disconnect();
    await redisServer.stop();
  });

  const drained = (couponId: string, rows: number) =>
    until(
      `coupon ${couponId}: ${rows} rows, nothing pending`,
      async () => ({
        rows: (await rowMembers(couponId)).size,
        pending: await redis.zcard(couponKeys(config.REDIS_PREFIX, couponId).pending),
      }),
      (state) => state.rows === rows && state.pending === 0,
      60_000,
      250,
    );

  /** A rush, then the members answered 503 (Redis away, a reconciliation in progress) claim again, up to 20 times. */
  async function rushAnswered(
    target: Pm2Cluster,
    eventId: string,
    couponId: string,
    plan: { id: string; accessToken: string }[],
  ) {
    let outcomes = await rush(target.url, eventId, couponId, plan);
    const all: ClaimOutcome[] = [...outcomes];
    for (let round = 0; round < 20; round++) {
      const retry = plan.filter((m) =>
        outcomes.some((o) => o.memberId === m.id && (o.status === 503 || o.status === 0)),
      );
      if (retry.length === 0) break;
      await sleep(500);
      outcomes = await rush(target.url, eventId, couponId, retry);
      all.push(...outcomes);
    }
    return all;
  }

  /** The final answer per member (after its 503 retries). */
  const finalAnswers = (outcomes: ClaimOutcome[]) => new Map(outcomes.map((o) => [o.memberId, o]));

  /**
   * 500 claims persisted, a snapshot, 300 more persisted, then Redis restored from the snapshot (it has
   * forgotten the 300), then a second rush of the 800 and 600 new members on a stock of 1,000.
   */
  async function restoreScenario(target: Pm2Cluster) {
    const max = 1_000;
    const { eventId, couponIds } = await createEvent(target.http, admin, eventBody({ max }));
    const [couponId] = couponIds;
    const [early, late, fresh] = [take(500), take(300), take(600)];
    expect(tally(await rushAnswered(target, eventId, couponId, early))).toEqual({ '202': 500 });
    await drained(couponId, 500);
    redisServer.snapshot('backup');
    expect(tally(await rushAnswered(target, eventId, couponId, late))).toEqual({ '202': 300 });
    await drained(couponId, 800);
    const hadRow = await rowMembers(couponId);

    // The backup holds the older data: 500 members (read on a Redis of its own: the app's workers
    // reconcile the restored server within moments of reconnecting).
    const probe = new OwnRedis(testPort(114));
    probe.restore('backup', redisServer);
    await probe.start();
    try {
      expect(probe.cli('scard', couponKeys(config.REDIS_PREFIX, couponId).members).trim()).toBe('500');
    } finally {
      await probe.stop();
    }
    await redisServer.kill();
    redisServer.restore('backup');
    await redisServer.start();
    await target.waitReady();

    const second = await rushAnswered(target, eventId, couponId, claimPlan([...early, ...late, ...fresh], 1, 7));
    const answers = finalAnswers(second);
    const doubled = [...hadRow].filter((id) => second.some((o) => o.memberId === id && o.status === 202));
    await until(
      'nothing pending',
      () => redis.zcard(couponKeys(config.REDIS_PREFIX, couponId).pending),
      (pending) => pending === 0,
      60_000,
      250,
    );
    const report = await waitForDrainAndCheck(query, redis, config.REDIS_PREFIX, couponId, second, 1_000);
    console.log(`restore scenario (${target.options.name}):`, tally([...answers.values()]), {
      rows: report.rows,
      distinct: report.distinctMembers,
      redis: report.redisMembers,
      doubled202: doubled.length,
    });
    return { max, second, answers, doubled, report, hadRow, early, late, fresh };
  }

  it('restored from an older snapshot, no command run: a second rush never issues past the stock, nor answers 202 to a member with a row', async () => {
    const { max, second, answers, doubled, report, early, late, fresh } = await restoreScenario(cluster);
    expect(doubled).toEqual([]);
    expect(report.rows).toBeLessThanOrEqual(max);
    expect(report.rows).toBe(max);
    expect(report.distinctMembers).toBe(report.rows);
    expect(report.missing202).toEqual([]);
    // Every member who had the coupon is told so; exactly the 200 units left went to new members.
    for (const member of [...early, ...late]) expect(answers.get(member.id)?.code).toBe('COUPON_ALREADY_ISSUED');
    const freshAnswers = fresh.map((member) => answers.get(member.id)!);
    expect(tally(freshAnswers)).toEqual({ '202': 200, '409 COUPON_SOLD_OUT': 400 });
    expect(second.filter((o) => o.status >= 500 && o.status !== 503)).toEqual([]);
    expect([...report.redisSet].sort()).toEqual([...report.rowMembers].sort());
  });

  it('the same with reconciliation disabled (COUPON_RECONCILE=false) accepts past the stock: 202s that hold nothing, what the first test guards against', async () => {
    await cluster.stop();
    const unsafe = new Pm2Cluster({
      name: 'coupons-reconcile-off',
      port: testPort(111),
      instances: 2,
      env: { ...env, COUPON_RECONCILE: 'false' },
    });
    await unsafe.start();
    try {
      const { max, doubled, report, fresh, answers } = await restoreScenario(unsafe);
      // The restored set forgot the last 300 members: they get 202 again, and the stock is counted from 500.
      expect(doubled.length).toBeGreaterThan(0);
      const fresh202 = fresh.filter((member) => answers.get(member.id)?.status === 202).length;
      expect(fresh202).toBeGreaterThan(200);
      // MySQL's insert admits no row past the stock (before it: 1,138 rows for 1,000): the excess 202s hold nothing.
      expect(report.rows).toBe(max);
      expect(report.missing202.length).toBeGreaterThan(0);
      console.log(
        `reconciliation off: ${doubled.length} 202s to members with a row, ${fresh202} to new members for 200 left; rows ${report.rows} for ${max}; ${report.missing202.length} 202s refused by MySQL`,
      );
    } finally {
      await unsafe.stop();
      await cluster.start();
    }
  });

  it('Redis killed (kill -9) mid-rush and restarted: no 202 lost, every row in within seconds of the restart, not after the sweeper bound', async () => {
    const max = 600;
    const { eventId, couponIds } = await createEvent(cluster.http, admin, eventBody({ max }));
    const [couponId] = couponIds;
    const plan = claimPlan(take(800), 2, 11);
    const rushing = rush(cluster.url, eventId, couponId, plan, { waves: 10, gapMs: 150 });
    await sleep(500);
    await redisServer.kill();
    await sleep(1_500);
    await redisServer.start();
    const restartedAt = Date.now();
    const outcomes = await rushing;
    const keys = couponKeys(config.REDIS_PREFIX, couponId);
    const accepted = new Set(outcomes.filter((o) => o.status === 202).map((o) => o.memberId));
    // Every accepted claim in MySQL and nothing pending: claims whose jobs vanished with the crash are
    // enqueued again at the reconnection (COUPON_PENDING_BOUND_MS is its default, 30 s, here).
    await until(
      'every accepted claim in MySQL, nothing pending',
      async () => ({ rows: await rowMembers(couponId), pending: await redis.zcard(keys.pending) }),
      (state) => state.pending === 0 && [...accepted].every((id) => state.rows.has(id)),
      25_000,
      100,
    );
    const allInMs = Date.now() - restartedAt;
    const report = await waitForDrainAndCheck(query, redis, config.REDIS_PREFIX, couponId, outcomes, 5_000);
    console.log('Redis kill -9 mid-rush (AOF everysec):', tally(outcomes), {
      rows: report.rows,
      lost202: report.missing202.length,
      allRowsInAfterRestartMs: allInMs,
    });
    expect(outcomes.some((o) => o.status === 503)).toBe(true);
    expect(report.accepted202).toBeGreaterThan(0);
    expect(report.missing202).toEqual([]);
    expect(report.rows).toBeLessThanOrEqual(max);
    expect(report.distinctMembers).toBe(report.rows);
    expect([...report.redisSet].sort()).toEqual([...report.rowMembers].sort());
    expect(outcomes.filter((o) => o.status >= 500 && o.status !== 503)).toEqual([]);
    expect(allInMs).toBeLessThan(20_000);
    await cluster.waitReady();
  });

  it('a coupon of 100,000 issued: reconciled in about a second; claims meanwhile get 409 or a retryable 503, never a wrong 202', async () => {
    const max = 101_000;
    // Not claimable yet (the sweeper reconciles only coupons claimable within the hour): the command's
    // cost is measured alone first, then the event starts.
    const { eventId, couponIds } = await createEvent(
      cluster.http,
      admin,
      eventBody({ max, startsIn: 2 * 3600_000, endsIn: 3 * 3600_000 }),
    );
    const [couponId] = couponIds;
    // 100,000 members with a row, written straight into MySQL (as the drain would have).
    const issued = await mint(config, 100_000);
    const connection = rig.orm.em.getConnection();
    for (let i = 0; i < issued.length; i += 10_000) {
      const chunk = issued.slice(i, i + 10_000);
      await connection.execute(
        `insert into member_coupon (created_at, updated_at, coupon_id, member_id) values ${chunk.map(() => '(utc_timestamp(3), utc_timestamp(3), ?, ?)').join(', ')}`,
        chunk.flatMap((member) => [couponId, member.id]),
      );
    }
    const keys = couponKeys(config.REDIS_PREFIX, couponId);
    // Redis comes back from before every one of them: an empty issued set, stamped by another server.
    const forget = async () => {
      await redis.del(keys.members);
      await redis.hset(keys.state, 'epoch', 'a-server-long-gone');
    };

    // What it costs, alone: the operator's command (every coupon brought up to MySQL, reported).
    await forget();
    const started = Date.now();
    const { stdout, stderr } = await run(process.execPath, ['dist/src/cli/rebuild-coupons.js', '--coupon', couponId], {
      cwd: root,
      env: { ...process.env, ...env },
    });
    const commandMs = Date.now() - started;
    const [outcome] = JSON.parse(stdout.trim().split('\n').at(-1)!) as { restored: number; issued: number }[];
    expect(outcome).toMatchObject({ couponId, reconciled: true, stale: true, restored: 100_000, issued: 100_000 });
    expect(stderr).toMatch(/Redis was behind MySQL: 100000 members put back/);

    // In the app: the first claims find the state stale; one worker reconciles, the others wait.
    const startsAt = new Date(Date.now() - 60_000).toISOString();
    const started2 = await cluster.http.patch(
      `/api/admin/events/${eventId}`,
      { startsAt, coupons: [{ id: couponId, validFrom: startsAt }] },
      admin,
    );
    expect(started2.status).toBe(200);
    await forget();
    const holders = issued.slice(0, 150);
    const newcomers = take(150);
    const holderIds = new Set(holders.map((member) => member.id));
    const sent = Date.now();
    const timed = await Promise.all(
      claimPlan([...holders, ...newcomers], 1, 3).map(async (member) => {
        const [outcome] = await rush(cluster.url, eventId, couponId, [member]);
        return { ...outcome, ms: Date.now() - sent, holder: holderIds.has(member.id) };
      }),
    );
    const ms = timed.map((o) => o.ms).sort((a, b) => a - b);
    console.log('reconciling 100,000 issued:', {
      commandMs,
      claims: tally(timed),
      firstAnswerMs: ms[0],
      medianMs: ms[Math.floor(ms.length / 2)],
      lastMs: ms.at(-1),
    });
    expect(timed.filter((o) => o.holder && o.status === 202)).toEqual([]);
    expect(timed.filter((o) => o.status >= 500 && o.status !== 503)).toEqual([]);
    for (const o of timed)
      expect(
        o.holder ? ['409 COUPON_ALREADY_ISSUED', '503 SERVICE_UNAVAILABLE'] : ['202', '503 SERVICE_UNAVAILABLE'],
      ).toContain(`${o.status}${o.code ? ` ${o.code}` : ''}`);
    expect(timed.filter((o) => o.status === 503 && !o.retryAfter)).toEqual([]);
    expect(await redis.scard(keys.members)).toBe(100_000 + timed.filter((o) => o.status === 202).length);
  });
});
