import { EntityManager } from '@mikro-orm/mysql';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemberRole } from '../members/member.entity.js';
import { startTestApp, type TestApp } from '../testing/app.js';
import { createEvent, eventBody, mint } from '../testing/fixtures.js';
import { persistedRows } from '../testing/invariants.js';
import { sleep, until } from '../testing/poll.js';
import { lockRow, lockTable } from '../testing/table-lock.js';
import { couponKeys, CouponStock } from './coupon-stock.js';
import { claimsRefusedPastStock } from './coupon.metrics.js';
import { insertClaims, IssuanceProcessor } from './issuance.processor.js';

/**
 * MySQL is the stock's last word. The failover drill with REDIS_CLAIM_REPLICAS=0 once ended at 6,025 rows for a
 * stock of 6,000: claims the dead primary had accepted were still being written (a batch in flight, an enqueue
 * retried onto the new primary) after the promoted replica, which never saw them, had been reconciled from MySQL
 * and had issued its whole stock again. Here that end state is made on purpose: the stock is claimed over HTTP and
 * written, then a batch of claims the current Redis never accepted arrives at the processor, as the lost
 * primary's jobs do.
 */
describe('the issuance insert admits no row past the stock', () => {
  let t: TestApp;
  let admin: string;
  let members: { id: string; accessToken: string }[];
  let redis: Redis;
  let next = 0;
  const take = (n: number) => members.slice(next, (next += n));
  const claimPath = (eventId: string, couponId: string) => `/api/events/${eventId}/coupons/${couponId}/issue`;
  const rows = (couponId: string) => persistedRows(t.app.get(EntityManager), couponId);
  const issuedCount = async (couponId: string) => {
    const [row] = await t.app
      .get(EntityManager)
      .getConnection()
      .execute<{ n: number }[]>('select issued_count n from coupon_issued where coupon_id = ?', [couponId]);
    return Number(row.n);
  };
  const refusedSoFar = async () => (await claimsRefusedPastStock.get()).values[0]?.value ?? 0;

  beforeAll(async () => {
    // The sweeper stays out (a 60 s bound): the tests hand the processor its claims themselves, and a sweep
    // replaying them meanwhile would refuse them a second time (the refusal counts would be off).
    t = await startTestApp({ COUPON_PENDING_BOUND_MS: '60000' });
    admin = (await mint(t.config, 1, MemberRole.ADMIN))[0].accessToken;
    members = await mint(t.config, 400);
    redis = new Redis({ host: t.config.REDIS_HOST, port: t.config.REDIS_PORT, db: t.config.REDIS_DB });
  });
  afterAll(async () => {
    redis?.disconnect();
    await t?.close();
  });

  it('claims a Redis accepted past the stock are refused, Redis is brought up to MySQL, the refused are voided', async () => {
    const stock = 20;
    const { eventId, couponIds } = await createEvent(t.http, admin, eventBody({ max: stock }));
    const [couponId] = couponIds;
    const buyers = take(stock);
    const answers = await Promise.all(
      buyers.map((m) => t.http.post(claimPath(eventId, couponId), undefined, m.accessToken)),
    );
    expect(answers.map((a) => a.status)).toEqual(buyers.map(() => 202));
    await until(
      'the stock written',
      () => rows(couponId),
      (n) => n === stock,
      15_000,
    );

    // The lost primary's batch: 10 members Redis accepted before it lost them, written only now.
    const late = take(10);
    const keys = couponKeys(t.config.REDIS_PREFIX, couponId);
    // As the lost primary had them: accepted, pending (the processor clears what it writes or refuses).
    await redis.zadd(keys.pending, ...late.flatMap((m) => [Date.now(), m.id]));
    const refusedBefore = await refusedSoFar();
    await t.app.get(IssuanceProcessor).persist(late.map((m) => ({ couponId, memberId: m.id })));

    expect(await rows(couponId)).toBe(stock);
    expect(await issuedCount(couponId)).toBe(stock);
    expect((await refusedSoFar()) - refusedBefore).toBe(late.length);
    // Redis holds exactly MySQL's rows: the refused are neither issued nor pending, the coupon is sold out.
    expect(await redis.scard(keys.members)).toBe(stock);
    expect(await redis.zcard(keys.pending)).toBe(0);
    for (const m of late.slice(0, 3)) {
      expect((await t.http.get(claimPath(eventId, couponId), m.accessToken)).body.status).toBe('NONE');
      const retry = await t.http.post(claimPath(eventId, couponId), undefined, m.accessToken);
      expect([retry.status, retry.body.code]).toEqual([409, 'COUPON_SOLD_OUT']);
    }
    const status = await t.http.get(`/api/admin/events/${eventId}/status`, admin);
    expect(status.body.coupons[0]).toMatchObject({ rows: stock, consistent: true });
  });

  it('concurrent inserts on their own connections: exactly the stock goes in, a replay is not refused', async () => {
    const stock = 50;
    const { couponIds } = await createEvent(t.http, admin, eventBody({ max: stock }));
    const [couponId] = couponIds;
    const batches = Array.from({ length: 12 }, () => take(10).map((m) => ({ couponId, memberId: m.id })));
    const em: EntityManager = t.app.get(EntityManager);
    const outcomes = await Promise.all(batches.map((batch) => insertClaims(em, batch)));
    const refused = outcomes.flatMap((o) => o.refused);
    expect(await rows(couponId)).toBe(stock);
    expect(await issuedCount(couponId)).toBe(stock);
    expect(refused.length).toBe(12 * 10 - stock);
    // Every claim is either a row or refused, never both.
    const written = new Set(
      (
        await em
          .getConnection()
          .execute<{ member_id: string }[]>('select member_id from member_coupon where coupon_id = ?', [couponId])
      ).map((row) => String(row.member_id)),
    );
    expect(refused.filter((claim) => written.has(claim.memberId))).toEqual([]);
    // Replays (a retried job) of written claims are no-ops, not refusals, even with the stock gone.
    const replay = batches.flat().filter((claim) => written.has(claim.memberId));
    expect((await insertClaims(em, replay)).refused).toEqual([]);
    expect(await issuedCount(couponId)).toBe(stock);
  });

  it('a batch with a claim that cannot be written (its member does not exist) counts exactly the rows it wrote', async () => {
    const { couponIds } = await createEvent(t.http, admin, eventBody({ max: 20 }));
    const [couponId] = couponIds;
    const em: EntityManager = t.app.get(EntityManager);
    expect(
      (
        await insertClaims(
          em,
          take(5).map((m) => ({ couponId, memberId: m.id })),
        )
      ).refused,
    ).toEqual([]);
    const batch = [...take(5).map((m) => ({ couponId, memberId: m.id })), { couponId, memberId: '999999999' }];
    // The one the foreign key refuses fails as such (the processor then writes the batch row by row, voiding it);
    // the others are in, each counted once.
    await expect(insertClaims(em, batch)).rejects.toThrow(/foreign key|is gone/i);
    expect(await rows(couponId)).toBe(10);
    expect(await issuedCount(couponId)).toBe(10);
    await expect(insertClaims(em, batch)).rejects.toThrow(/foreign key|is gone/i);
    expect((await insertClaims(em, batch.slice(0, 5))).refused).toEqual([]);
    expect(await rows(couponId)).toBe(10);
    expect(await issuedCount(couponId)).toBe(10);
  });

  it('a claim voided while its coupon is being reconciled stays voided: the reconciliation does not put it back', async () => {
    const { eventId, couponIds } = await createEvent(t.http, admin, eventBody({ max: 10 }));
    const [couponId] = couponIds;
    const [first, voided] = take(2);
    expect((await t.http.post(claimPath(eventId, couponId), undefined, first.accessToken)).status).toBe(202);
    // Accepted by Redis, never to become a row (refused by MySQL, or its member gone).
    const keys = couponKeys(t.config.REDIS_PREFIX, couponId);
    await redis.sadd(keys.members, voided.id);
    await redis.zadd(keys.pending, Date.now(), voided.id);
    const stock = t.app.get(CouponStock);
    // The reconciliation has read Redis and waits for MySQL's rows while the claim is voided.
    const held = await lockTable(t.config, 'member_coupon');
    let reconciling: Promise<unknown>;
    try {
      reconciling = stock.reconcile(couponId, { always: true });
      await sleep(300);
      await stock.voidClaim(couponId, voided.id);
    } finally {
      await held.release();
    }
    await reconciling;
    expect(await redis.sismember(keys.members, voided.id)).toBe(0);
    expect(await redis.zscore(keys.pending, voided.id)).toBeNull();
    expect(await redis.sismember(keys.members, first.id)).toBe(1);
  });

  it('a raised limit reaches Redis only once MySQL has it: no claim is accepted under a limit MySQL would refuse', async () => {
    const { eventId, couponIds } = await createEvent(t.http, admin, eventBody({ max: 5 }));
    const [couponId] = couponIds;
    const claim = (m: { accessToken: string }) => t.http.post(claimPath(eventId, couponId), undefined, m.accessToken);
    expect((await Promise.all(take(5).map(claim))).map((a) => a.status)).toEqual([202, 202, 202, 202, 202]);
    await until(
      'the first 5 written',
      () => rows(couponId),
      (n) => n === 5,
      15_000,
    );

    // The admin's commit waits on the coupon's row; meanwhile Redis must still say sold out.
    const held = await lockRow(t.config, 'coupon', couponId);
    let raised: Promise<{ status: number }>;
    try {
      raised = t.http.patch(`/api/admin/events/${eventId}`, { coupons: [{ id: couponId, maxIssuance: 15 }] }, admin);
      await sleep(500);
      const early = await Promise.all(take(3).map(claim));
      expect(early.map((a) => [a.status, a.body.code])).toEqual(early.map(() => [409, 'COUPON_SOLD_OUT']));
    } finally {
      await held.release();
    }
    expect((await raised).status).toBe(200);
    const refusedBefore = await refusedSoFar();
    expect((await Promise.all(take(10).map(claim))).map((a) => a.status)).toEqual(Array(10).fill(202));
    await until(
      'all 15 written',
      () => rows(couponId),
      (n) => n === 15,
      15_000,
    );
    expect(await issuedCount(couponId)).toBe(15);
    expect(await refusedSoFar()).toBe(refusedBefore);
  });
});
