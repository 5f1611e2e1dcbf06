import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimLoad, tally, type TimedClaimOutcome } from '../testing/claim-rush.js';
import { Pm2Cluster, testPort } from '../testing/cluster.js';
import { ClusterRig } from '../testing/rig.js';
import { createEvent, eventBody } from '../testing/fixtures.js';
import { OwnRedisHa, SENTINEL_MASTER } from '../testing/own-redis-ha.js';
import { lockTable } from '../testing/table-lock.js';
import type { OwnRedis } from '../testing/own-services.js';
import { sleep, until } from '../testing/poll.js';
import { couponKeys } from './coupon-stock.js';

/**
 * The failover drill: production's Redis high availability (a primary, 2 replicas, 3 sentinels, AOF and
 * min-replicas-to-write 1 on every node: src/testing/own-redis-ha.ts) under a 2-worker PM2 cluster that
 * reaches Redis only through the sentinels, and claims acknowledged by one replica (REDIS_CLAIM_REPLICAS=1).
 * A sustained rush of 20,000 distinct members on a smaller stock; mid-rush, while MySQL stalls and the
 * replicas fall behind for a moment, the primary is killed (kill -9); or the primary freezes. Every member
 * retries a 503 as a client honouring Retry-After would. After it: no 202 without its row, rows <= stock,
 * one per member, claims answered again within seconds, the cached catalog answering throughout.
 */
describe('Redis failover drill: primary + 2 replicas + 3 sentinels, a 2-worker cluster through the sentinels', () => {
  // Detection after 1.5 s: 1 s also took a replica that had just been slow to answer for a dead one.
  const ha = new OwnRedisHa(testPort(130), testPort(135), { downAfterMs: 1_500 });
  const env = (claimReplicas: number) => ({
    DB_NAME: `${process.env.DB_NAME ?? 'pick_test'}_fo`,
    DB_POOL_MAX: '10',
    REDIS_SENTINELS: ha.sentinelAddresses,
    REDIS_SENTINEL_MASTER: SENTINEL_MASTER,
    REDIS_DB: '0',
    REDIS_PREFIX: 'pick-fo',
    REDIS_CLAIM_REPLICAS: String(claimReplicas),
    REDIS_CLAIM_WAIT_TIMEOUT_MS: '100',
    REDIS_REQUIRE_AOF: 'true',
    COUPON_SWEEP_INTERVAL_MS: '1000',
    // One job at a time per worker: when MySQL stalls (the kill drill locks member_coupon), the claims
    // not yet written wait in Bull on the primary, not in the workers' memory.
    COUPON_QUEUE_CONCURRENCY: '1',
    // Members retry 503s for as long as the failover takes: the per-member claim limit is not under test.
    THROTTLE_CLAIM_MEMBER_LIMIT: '1000',
  });
  const rig = new ClusterRig({ name: 'coupons-failover', port: testPort(140), env: env(1), members: 36_000 });
  const { config } = rig;
  let cluster = rig.cluster;
  let admin: string;
  const take = (n: number) => rig.take(n);

  beforeAll(async () => {
    await ha.start();
    admin = (await rig.start()).admin;
  }, 240_000);
  afterAll(async () => {
    await cluster.stop();
    await rig.stop();
    await ha.stop();
  });

  const rowsOf = (couponId: string) => rig.rowMembers(couponId);

  /** GETs of the cached catalog every 20 ms until stopped: every answer should be 200. */
  function catalogProbe(url: string) {
    const statuses: number[] = [];
    let stopped = false;
    const done = (async () => {
      while (!stopped) {
        try {
          statuses.push((await fetch(`${url}/api/general/products`, { signal: AbortSignal.timeout(5_000) })).status);
        } catch {
          statuses.push(0);
        }
        await sleep(20);
      }
    })();
    return {
      stop: async () => {
        stopped = true;
        await done;
        return { requests: statuses.length, failed: statuses.filter((status) => status !== 200).length };
      },
    };
  }

  /**
   * A rush of `demand` distinct members on a coupon of `stock`; `fault` runs `faultAfterMs` into it. Then
   * waits until every 202 has its row and nothing is pending on the primary, and reports.
   */
  async function drill(
    target: Pm2Cluster,
    { stock, demand, faultAfterMs }: { stock: number; demand: number; faultAfterMs: number },
    /** Returns when the primary was lost (killed, frozen). */
    fault: (primary: OwnRedis) => Promise<number>,
  ) {
    const primary = await ha.healthy();
    const { eventId, couponIds } = await createEvent(target.http, admin, eventBody({ max: stock }));
    const [couponId] = couponIds;
    // Each worker has the event cached before the rush (what a shop's warm-up does).
    await target.http.get(`/api/events/${eventId}`);
    const probe = catalogProbe(target.url);
    const rushing = claimLoad(target.url, eventId, couponId, take(demand), { concurrency: 64, attempts: 60 });
    await sleep(faultAfterMs);
    const lostAt = await fault(primary);
    const outcomes = await rushing;
    const catalog = await probe.stop();
    const timeline = timelineOf(outcomes, lostAt);

    const accepted = new Set(outcomes.filter((o) => o.status === 202).map((o) => o.memberId));
    const newPrimary = await ha.healthy(60_000);
    const redis = new Redis({ port: newPrimary.port, lazyConnect: true, maxRetriesPerRequest: 3 });
    await redis.connect();
    let rows = new Set<string>();
    try {
      const keys = couponKeys(config.REDIS_PREFIX, couponId);
      await until(
        'the claims drained: nothing pending, every row in',
        async () => {
          rows = await rowsOf(couponId);
          return { pending: await redis.zcard(keys.pending), rows: rows.size };
        },
        (state) => state.pending === 0 && [...accepted].every((id) => rows.has(id)),
        30_000,
        250,
      ).catch(() => undefined); // reported below: a lost 202 never arrives
      rows = await rowsOf(couponId);
    } finally {
      redis.disconnect();
    }
    const lost202 = [...accepted].filter((id) => !rows.has(id));
    const finals = new Map(outcomes.map((o) => [o.memberId, o]));
    const report = {
      claims: outcomes.length,
      members: finals.size,
      answers: tally(outcomes),
      finalAnswers: tally([...finals.values()]),
      rows: rows.size,
      lost202: lost202.length,
      ...timeline,
      catalog,
    };
    return { report, rows, lost202, finals, outcomes, primary, newPrimary, stock, demand };
  }

  it('kill -9 of the primary mid-rush, its replicas cut off just before: no 202 lost, rows <= stock, claims back within 10 s, the catalog answering throughout', async () => {
    const result = await drill(cluster, { stock: 15_000, demand: 20_000, faultAfterMs: 1_500 }, killPrimary);
    console.log('failover drill (REDIS_CLAIM_REPLICAS=1):', JSON.stringify(result.report));
    const { report, rows, lost202, finals, stock, demand, primary, newPrimary } = result;
    expect(newPrimary.port).not.toBe(primary.port);
    expect(report.members).toBe(demand);
    expect(lost202).toEqual([]);
    expect(rows.size).toBeLessThanOrEqual(stock);
    // Every member retried until decided; demand exceeds the stock: it is sold out, exactly.
    expect([...finals.values()].filter((o) => o.status !== 202 && o.status !== 409)).toEqual([]);
    expect(rows.size).toBe(stock);
    expect(report.unavailable).toBeGreaterThan(0);
    expect(report.answeredAgainAfterLossMs).toBeLessThan(10_000);
    expect(report.serverErrors).toBe(0);
    expect(report.catalog.failed).toBe(0);
  }, 180_000);

  it('a frozen primary thawed at the worst moment (a replica just told to take over, the other still following it): no claim it acknowledged is lost, none acknowledged after it was cut off', async () => {
    let frozen: OwnRedis | undefined;
    const result = await drill(cluster, { stock: 6_000, demand: 8_000, faultAfterMs: 1_000 }, async (primary) => {
      frozen = primary;
      // Thawed as soon as the sentinels' leader has told a replica to become the primary: until it sees the
      // promotion (its next INFO, up to a second) and moves the other replica, that one still follows the
      // thawed primary, which then runs every claim queued while it was frozen, and WAIT counts the
      // replica's acknowledgements: a split brain, whose 202s die when the other replica's data wins.
      const promotion = await ha.watch('+failover-state-wait-promotion');
      primary.freeze();
      const frozenAt = Date.now();
      await promotion.next;
      primary.thaw();
      return frozenAt;
    });
    console.log('frozen primary (REDIS_CLAIM_REPLICAS=1):', JSON.stringify(result.report));
    const { report, rows, lost202, finals, stock, newPrimary } = result;
    expect(newPrimary.port).not.toBe(frozen!.port);
    const role = await until(
      'the old primary to rejoin as a replica',
      () => /^role:(\w+)/m.exec(frozen!.cli('info', 'replication'))?.[1],
      (value) => value === 'slave',
      20_000,
      200,
    );
    expect(role).toBe('slave');
    expect(lost202).toEqual([]);
    expect(rows.size).toBeLessThanOrEqual(stock);
    expect([...finals.values()].filter((o) => o.status !== 202 && o.status !== 409)).toEqual([]);
    expect(rows.size).toBe(stock);
    expect(report.serverErrors).toBe(0);
    expect(report.catalog.failed).toBe(0);
  }, 180_000);

  it('the same kill drill with REDIS_CLAIM_REPLICAS=0 loses acknowledged claims: what the first test guards against', async () => {
    await cluster.stop();
    cluster = new Pm2Cluster({ name: 'coupons-failover-unacked', port: testPort(141), instances: 2, env: env(0) });
    await cluster.start();
    // A smaller rush than the first drill's: the loss shows in the fault's last moments, whatever the demand.
    const result = await drill(cluster, { stock: 6_000, demand: 8_000, faultAfterMs: 1_500 }, killPrimary);
    console.log('failover drill (REDIS_CLAIM_REPLICAS=0):', JSON.stringify(result.report));
    // 202s answered from the primary alone, in its last moments: neither on a replica nor in MySQL.
    expect(result.lost202.length).toBeGreaterThan(0);
    expect(result.rows.size).toBeLessThanOrEqual(result.stock);
  }, 180_000);

  /**
   * The worst moment to lose the primary: MySQL is slow (member_coupon locked: the claims accepted
   * meanwhile wait in Bull, written nowhere else), and for its last 400 ms the primary's replication
   * packets are dropped (a partition: the replicas fall behind, and only a claim a replica acknowledged
   * is surely on one). Then it dies (kill -9). The partition lasts until the sentinels have promoted a
   * replica (the dead process's kernel would otherwise still deliver what it had sent), MySQL a second
   * after the kill.
   */
  async function killPrimary(primary: OwnRedis): Promise<number> {
    const stall = await lockTable(config, 'member_coupon');
    let restore: (() => void) | undefined;
    let killedAt: number;
    try {
      await sleep(300);
      restore = ha.cutReplication(primary);
      await sleep(400);
      await primary.kill();
      killedAt = Date.now();
      await sleep(1_000);
      await stall.release();
      await until(
        'a replica promoted',
        () => ha.primary().port,
        (port) => port !== primary.port,
        20_000,
        100,
      );
    } finally {
      restore?.();
    }
    return killedAt;
  }
});

/**
 * What the clients saw around the loss of the primary: 503s, cut connections, 5xx other than 503, and
 * when a claim sent after the loss was first decided again (202 or 409).
 */
function timelineOf(outcomes: TimedClaimOutcome[], lostAt: number) {
  const decided = outcomes.filter((o) => o.sentAt > lostAt && (o.status === 202 || o.status === 409));
  const back = decided.length > 0 ? Math.min(...decided.map((o) => o.at)) : undefined;
  const times = outcomes.map((o) => o.at);
  return {
    unavailable: outcomes.filter((o) => o.status === 503).length,
    cutOff: outcomes.filter((o) => o.status === 0).length,
    serverErrors: outcomes.filter((o) => o.status >= 500 && o.status !== 503).length,
    answeredAgainAfterLossMs: back === undefined ? Infinity : back - lostAt,
    rushMs: times.length > 0 ? Math.max(...times) - Math.min(...times) : 0,
  };
}
