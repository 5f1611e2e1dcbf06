import { EntityManager } from '@mikro-orm/mysql';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemberRole } from '../members/member.entity.js';
import { startTestApp, type TestApp } from '../testing/app.js';
import { claimPlan, rush, tally } from '../testing/claim-rush.js';
import { createEvent, eventBody, mint } from '../testing/fixtures.js';
import { persistedRows, waitForDrainAndCheck } from '../testing/invariants.js';
import { couponKeys } from './coupon-stock.js';

const STOCK = 60;
const MEMBERS = 200;

describe('GET /api/admin/events/:id/status', () => {
  let t: TestApp;
  let admin: string;
  let customer: string;
  const statusOf = (eventId: string, token = admin) => t.http.get(`/api/admin/events/${eventId}/status`, token);

  beforeAll(async () => {
    t = await startTestApp();
    admin = (await mint(t.config, 1, MemberRole.ADMIN))[0].accessToken;
    customer = (await mint(t.config, 1))[0].accessToken;
  });
  afterAll(() => t?.close());

  it(`after a concurrent rush on a coupon of ${STOCK}: issued = rows = stock, nothing pending, consistent, claims counted`, async () => {
    const members = await mint(t.config, MEMBERS);
    const { eventId, couponIds } = await createEvent(t.http, admin, eventBody({ max: STOCK, coupons: 2 }));
    const [couponId, untouched] = couponIds;
    const outcomes = await rush(t.url, eventId, couponId, claimPlan(members, 3));
    console.log('rush:', tally(outcomes));
    const accepted = outcomes.filter((o) => o.status === 202).length;
    expect(accepted).toBe(STOCK);
    const em = t.app.get(EntityManager);
    await waitForDrainAndCheck(
      (sql, params) => em.fork().getConnection().execute(sql, params),
      t.app.get(Redis),
      t.config.REDIS_PREFIX,
      couponId,
      outcomes,
      30_000,
    );

    const response = await statusOf(eventId);
    expect(response.status).toBe(200);
    const [rushed, idle] = response.body.coupons;
    // The same figures read straight from MySQL and Redis.
    const rows = await persistedRows(em, couponId);
    const redis = t.app.get(Redis);
    const keys = couponKeys(t.config.REDIS_PREFIX, couponId);
    expect(rushed).toEqual({
      couponId,
      name: 'Coupon 1',
      max: STOCK,
      issued: await redis.scard(keys.members),
      remaining: 0,
      pending: await redis.zcard(keys.pending),
      oldestPendingAgeMs: null,
      rows: Number(rows),
      stateInRedis: true,
      reconciled: true,
      consistent: true,
      acceptedLastMinute: STOCK,
      claimsPerSecond: Math.round((STOCK / 60) * 100) / 100,
    });
    expect([rushed.issued, rushed.rows, rushed.pending]).toEqual([STOCK, STOCK, 0]);
    expect(idle).toMatchObject({
      couponId: untouched,
      issued: 0,
      remaining: STOCK,
      pending: 0,
      rows: 0,
      consistent: true,
      acceptedLastMinute: 0,
      claimsPerSecond: 0,
    });
    expect(response.body).toMatchObject({ eventId, title: expect.any(String), at: expect.any(String) });
  });

  it('shows claims still pending (no processor): pending and oldest age, consistent (issued = rows + pending)', async () => {
    // Its own Redis prefix: no processor of another app (or file) on the shared test prefix can take
    // these claims (in a fresh clone's file order one did: pending read 0, rows 3).
    const held = await startTestApp({
      QUEUE_PROCESSORS_ENABLED: 'false',
      REDIS_PREFIX: `${process.env.REDIS_PREFIX ?? 'pick-test'}-status-${Date.now()}`,
    });
    // The main app's processors would take the jobs: stop it for this case.
    await t.close();
    try {
      const members = await mint(held.config, 3);
      const { eventId, couponIds } = await createEvent(held.http, admin, eventBody({ max: 10 }));
      for (const m of members)
        expect(
          (await held.http.post(`/api/events/${eventId}/coupons/${couponIds[0]}/issue`, undefined, m.accessToken))
            .status,
        ).toBe(202);
      await new Promise((resolve) => setTimeout(resolve, 200));
      const response = await held.http.get(`/api/admin/events/${eventId}/status`, admin);
      expect(response.status).toBe(200);
      const [coupon] = response.body.coupons;
      expect(coupon).toMatchObject({
        issued: 3,
        remaining: 7,
        pending: 3,
        rows: 0,
        consistent: true,
        acceptedLastMinute: 3,
      });
      expect(coupon.oldestPendingAgeMs).toBeGreaterThanOrEqual(200);
      // State lost in Redis: reported, not consistent, nothing rebuilt by reading.
      const keys = couponKeys(held.config.REDIS_PREFIX, couponIds[0]);
      await held.app.get(Redis).del(keys.state);
      const lost = (await held.http.get(`/api/admin/events/${eventId}/status`, admin)).body.coupons[0];
      expect(lost).toMatchObject({ stateInRedis: false, consistent: false });
      expect(await held.app.get(Redis).exists(keys.state)).toBe(0);
    } finally {
      await held.close();
      t = await startTestApp();
    }
  });

  it('maxAgeMs: answered from figures no older than asked, read again while polled; an admin change is never answered from older figures', async () => {
    const [member] = await mint(t.config, 1);
    const body = eventBody({ max: 10 });
    const { eventId, couponIds } = await createEvent(t.http, admin, body);
    const poll = async (maxAgeMs: number) => {
      const sentAt = Date.now();
      const response = await t.http.get(`/api/admin/events/${eventId}/status?maxAgeMs=${maxAgeMs}`, admin);
      expect(response.status).toBe(200);
      // Never older than the poll accepts.
      expect(Date.parse(response.body.at)).toBeGreaterThanOrEqual(sentAt - maxAgeMs);
      return response.body;
    };
    expect((await poll(5_000)).coupons[0].issued).toBe(0);

    const claimed = await t.http.post(
      `/api/events/${eventId}/coupons/${couponIds[0]}/issue`,
      undefined,
      member.accessToken,
    );
    expect(claimed.status).toBe(202);
    const claimedAt = Date.now();
    // With a generous maxAgeMs the figures still move: they are read again every 100 ms while polled
    // (kept as they were, they would show issued 0 for up to 5 s).
    let issued = (await poll(5_000)).coupons[0].issued;
    while (issued !== 1 && Date.now() - claimedAt < 1_500) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      issued = (await poll(5_000)).coupons[0].issued;
    }
    expect(issued).toBe(1);
    // Without maxAgeMs the figures are read at once.
    expect((await statusOf(eventId)).body.coupons[0].issued).toBe(1);

    // An admin adds a coupon: the next poll shows it, however old the figures it accepts.
    const patched = await t.http.patch(
      `/api/admin/events/${eventId}`,
      { coupons: [{ ...body.coupons[0], name: 'Coupon 2' }] },
      admin,
    );
    expect(patched.status).toBe(200);
    expect((await poll(5_000)).coupons.map((c: { name: string }) => c.name)).toEqual(['Coupon 1', 'Coupon 2']);

    for (const bad of ['-1', '5001', '1.5', 'abc', '']) {
      const response = await t.http.get(`/api/admin/events/${eventId}/status?maxAgeMs=${bad}`, admin);
      expect([bad, response.status, response.body.code]).toEqual([bad, 400, 'VALIDATION_FAILED']);
    }
  });

  it('404 EVENT_NOT_FOUND, 403 for a non-admin, 401 without a token, 400 for a bad id', async () => {
    const { eventId } = await createEvent(t.http, admin, eventBody());
    const missing = await statusOf('999999999');
    expect([missing.status, missing.body.code]).toEqual([404, 'EVENT_NOT_FOUND']);
    const forbidden = await statusOf(eventId, customer);
    expect([forbidden.status, forbidden.body.code]).toEqual([403, 'FORBIDDEN']);
    expect((await t.http.get(`/api/admin/events/${eventId}/status`)).status).toBe(401);
    const bad = await statusOf('abc');
    expect([bad.status, bad.body.code]).toEqual([400, 'VALIDATION_FAILED']);
  });
});
