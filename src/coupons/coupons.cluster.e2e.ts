import { MikroORM } from '@mikro-orm/mysql';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/env.js';
import { ormOptions } from '../../config/mikro-orm.js';
import { MemberRole } from '../members/member.entity.js';
import { Pm2Cluster, testPort } from '../testing/cluster.js';
import { couponKeys } from './coupon-stock.js';
import { claimPlan, rush, tally } from '../testing/claim-rush.js';
import { createEvent, eventBody, mint } from '../testing/fixtures.js';
import { waitForDrainAndCheck } from '../testing/invariants.js';

const MEMBERS = 1_100;
const STOCK = 100;

describe('FCFS rush over HTTP against a 2-worker PM2 cluster', () => {
  const config = loadConfig({ ...process.env });
  const cluster = new Pm2Cluster({ name: 'coupons-rush', port: testPort(10), instances: 2 });
  let orm: MikroORM;
  let redis: Redis;

  beforeAll(async () => {
    orm = await MikroORM.init(ormOptions(config));
    redis = new Redis({ host: config.REDIS_HOST, port: config.REDIS_PORT, db: config.REDIS_DB });
    await cluster.start();
  });
  afterAll(async () => {
    await cluster.stop();
    await orm?.close(true);
    redis?.disconnect();
  });

  it(`${MEMBERS} members, each 1-5 claims at once, coupon of ${STOCK}: exactly ${STOCK} accepted and persisted`, async () => {
    const [admin] = await mint(config, 1, MemberRole.ADMIN);
    const members = await mint(config, MEMBERS);
    const { eventId, couponIds } = await createEvent(cluster.http, admin.accessToken, eventBody({ max: STOCK }));
    const [couponId] = couponIds;
    const plan = claimPlan(members, 5);
    expect(plan.length).toBeGreaterThanOrEqual(3_000);

    const started = performance.now();
    const outcomes = await rush(cluster.url, eventId, couponId, plan);
    const seconds = (performance.now() - started) / 1000;
    const counts = tally(outcomes);
    console.log(
      `rush: ${plan.length} claims by ${MEMBERS} members in ${seconds.toFixed(2)} s (${Math.round(plan.length / seconds)} req/s):`,
      counts,
    );

    const accepted = outcomes.filter((o) => o.status === 202);
    expect(accepted).toHaveLength(STOCK);
    expect(new Set(accepted.map((o) => o.memberId)).size).toBe(STOCK);
    // Everything else is a 409 with the right code: the winners' repeats are ALREADY_ISSUED, the rest SOLD_OUT.
    const winners = new Set(accepted.map((o) => o.memberId));
    for (const o of outcomes.filter((x) => x.status !== 202)) {
      expect(o.status).toBe(409);
      expect(o.code).toBe(winners.has(o.memberId) ? 'COUPON_ALREADY_ISSUED' : 'COUPON_SOLD_OUT');
    }
    const workers = new Set(outcomes.map((o) => o.servedBy));
    expect(workers.size).toBe(2);
    const drainStarted = performance.now();
    const report = await waitForDrainAndCheck(
      (sql, params) => orm.em.getConnection().execute(sql, params),
      redis,
      config.REDIS_PREFIX,
      couponId,
      outcomes,
      30_000,
    );
    console.log(
      `drain: ${report.rows} rows ${((performance.now() - drainStarted) / 1000).toFixed(2)} s after the last response`,
    );
    expect(report.rows).toBe(STOCK);
    expect(report.distinctMembers).toBe(STOCK);
    expect(report.missing202).toEqual([]);
    expect([...report.rowMembers].sort()).toEqual([...winners].sort());
    expect([...report.redisSet].sort()).toEqual([...winners].sort());
    expect(report.pending).toBe(0);
    expect(Number(await redis.hget(couponKeys(config.REDIS_PREFIX, couponId).state, 'max'))).toBe(STOCK);
    const shown = await cluster.http.get(`/api/events/${eventId}`);
    expect(shown.body.coupons[0].remaining).toBe(0);
  });
});
