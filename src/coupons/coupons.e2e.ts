import { EntityManager } from '@mikro-orm/mysql';
import type { ClientProxy } from '@nestjs/microservices';
import { getQueueToken } from '@nestjs/bull';
import type { Queue } from 'bull';
import { Redis } from 'ioredis';
import { firstValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BROADCAST_CLIENT, Broadcasts } from '../common/broadcast.js';
import { MemberRole } from '../members/member.entity.js';
import { startTestApp, type TestApp } from '../testing/app.js';
import { ClaimEnqueuer } from './claim-enqueuer.js';
import { ClaimResult, CouponStock, couponKeys, pendingIndexKey } from './coupon-stock.js';
import { ISSUANCE_BATCH_QUEUE, type IssuanceBatchJob } from './issuance.queue.js';
import { createEvent, eventBody, mint } from '../testing/fixtures.js';
import { OwnRedis } from '../testing/own-services.js';
import { persistedRows } from '../testing/invariants.js';
import { until } from '../testing/poll.js';

describe('coupon events and claims (in process)', () => {
  let t: TestApp;
  let admin: string;
  let members: { id: string; accessToken: string }[];
  let next = 0;
  const member = () => members[next++];
  const claimPath = (eventId: string, couponId: string) => `/api/events/${eventId}/coupons/${couponId}/issue`;
  const rows = (couponId: string) => persistedRows(t.app.get(EntityManager), couponId);

  beforeAll(async () => {
    t = await startTestApp({ COUPON_PENDING_BOUND_MS: '1000', COUPON_SWEEP_INTERVAL_MS: '500' });
    admin = (await mint(t.config, 1, MemberRole.ADMIN))[0].accessToken;
    members = await mint(t.config, 40);
  });
  afterAll(() => t?.close());

  it('validates event bodies and restricts writes to admins', async () => {
    const good = eventBody();
    const cases: [unknown, string][] = [
      [{ ...good, endsAt: good.startsAt }, 'endsAt'],
      [{ ...good, coupons: [{ ...good.coupons[0], maxIssuance: 0 }] }, 'maxIssuance'],
      [{ ...good, coupons: [{ ...good.coupons[0], maxIssuance: 10_000_001 }] }, 'maxIssuance'],
      [{ ...good, coupons: [{ ...good.coupons[0], validUntil: good.coupons[0].validFrom }] }, 'validUntil'],
      [{ ...good, coupons: [{ ...good.coupons[0], discountType: 'PERCENTAGE', discountValue: 150 }] }, 'discountValue'],
      [{ ...good, startsAt: 'tomorrow' }, 'startsAt'],
      // No offset: it would be read in the server's time zone.
      [{ ...good, startsAt: good.startsAt.replace(/Z$/, '') }, 'startsAt'],
      [
        { ...good, coupons: [{ ...good.coupons[0], validUntil: good.coupons[0].validUntil.slice(0, 10) }] },
        'validUntil',
      ],
      [{ ...good, coupons: [] }, 'coupons'],
      [{ ...good, surprise: 1 }, 'surprise'],
    ];
    for (const [body, field] of cases) {
      const response = await t.http.post('/api/admin/events', body, admin);
      expect(response.status, field).toBe(400);
      expect(response.body.code).toBe('VALIDATION_FAILED');
      expect(JSON.stringify(response.body.details)).toContain(field);
    }
    // An explicit offset is taken as that instant.
    const seoul = new Date(Date.parse(good.startsAt) + 9 * 3600_000).toISOString().replace('Z', '+09:00');
    const inSeoulTime = await t.http.post('/api/admin/events', { ...good, startsAt: seoul }, admin);
    expect([inSeoulTime.status, inSeoulTime.body.startsAt]).toEqual([201, new Date(good.startsAt).toISOString()]);
    expect((await t.http.post('/api/admin/events', good, member().accessToken)).status).toBe(403);
    expect((await t.http.post('/api/admin/events', good)).status).toBe(401);
  });

  it('claims once: 202 PENDING, then 409 ALREADY_ISSUED, ISSUED with a row, listed in my coupons, stock counted down', async () => {
    const { eventId, couponIds } = await createEvent(t.http, admin, eventBody({ max: 5 }));
    const [couponId] = couponIds;
    const m = member();
    expect((await t.http.get(claimPath(eventId, couponId), m.accessToken)).body.status).toBe('NONE');
    const first = await t.http.post(claimPath(eventId, couponId), undefined, m.accessToken);
    expect(first.status).toBe(202);
    expect(first.body).toEqual({ status: 'PENDING' });
    const again = await t.http.post(claimPath(eventId, couponId), undefined, m.accessToken);
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('COUPON_ALREADY_ISSUED');
    await until(
      'claim ISSUED',
      async () => (await t.http.get(claimPath(eventId, couponId), m.accessToken)).body.status === 'ISSUED',
      Boolean,
      5000,
    );
    expect(await rows(couponId)).toBe(1);
    const mine = await t.http.get('/api/members/me/coupons', m.accessToken);
    expect(mine.body).toEqual([
      expect.objectContaining({ couponId, eventId, status: 'UNUSED', discountType: 'FIXED_AMOUNT' }),
    ]);
    const event = await t.http.get(`/api/events/${eventId}`);
    expect(event.status).toBe(200);
    expect(event.body.coupons[0]).toMatchObject({ id: couponId, maxIssuance: 5, remaining: 4 });
  });

  it('refuses a coupon of another event (404) and an unknown event', async () => {
    const a = await createEvent(t.http, admin, eventBody());
    const b = await createEvent(t.http, admin, eventBody());
    const m = member();
    const wrong = await t.http.post(claimPath(a.eventId, b.couponIds[0]), undefined, m.accessToken);
    expect(wrong.status).toBe(404);
    expect(wrong.body.code).toBe('COUPON_NOT_FOUND');
    expect((await t.http.post(claimPath('999999999', b.couponIds[0]), undefined, m.accessToken)).status).toBe(404);
    expect((await t.http.get('/api/events/999999999')).body.code).toBe('EVENT_NOT_FOUND');
    expect((await t.http.post(claimPath(a.eventId, a.couponIds[0]))).status).toBe(401);
  });

  it('sold out is 409 SOLD_OUT and changes nothing: raising the limit lets the same member claim; lowering below issued is refused', async () => {
    const { eventId, couponIds } = await createEvent(t.http, admin, eventBody({ max: 2 }));
    const [couponId] = couponIds;
    const [a, b, c] = [member(), member(), member()];
    expect((await t.http.post(claimPath(eventId, couponId), undefined, a.accessToken)).status).toBe(202);
    expect((await t.http.post(claimPath(eventId, couponId), undefined, b.accessToken)).status).toBe(202);
    const late = await t.http.post(claimPath(eventId, couponId), undefined, c.accessToken);
    expect(late.status).toBe(409);
    expect(late.body.code).toBe('COUPON_SOLD_OUT');
    expect((await t.http.get(claimPath(eventId, couponId), c.accessToken)).body.status).toBe('NONE');

    const lower = await t.http.patch(
      `/api/admin/events/${eventId}`,
      { coupons: [{ id: couponId, maxIssuance: 1 }] },
      admin,
    );
    expect(lower.status).toBe(409);
    expect(lower.body.code).toBe('COUPON_MAX_BELOW_ISSUED');
    const raise = await t.http.patch(
      `/api/admin/events/${eventId}`,
      { coupons: [{ id: couponId, maxIssuance: 3 }] },
      admin,
    );
    expect(raise.status).toBe(200);
    expect(raise.body.coupons[0].maxIssuance).toBe(3);
    expect((await t.http.post(claimPath(eventId, couponId), undefined, c.accessToken)).status).toBe(202);
    expect((await t.http.get(`/api/events/${eventId}`)).body.coupons[0]).toMatchObject({
      maxIssuance: 3,
      remaining: 0,
    });
    await until('3 rows', async () => (await rows(couponId)) === 3, Boolean, 5000);
  });

  it('too early is 403 and too late is 410; both leave the member free to claim once the coupon is claimable', async () => {
    const early = await createEvent(t.http, admin, eventBody({ startsIn: 1500 }));
    const m = member();
    const before = await t.http.post(claimPath(early.eventId, early.couponIds[0]), undefined, m.accessToken);
    expect(before.status).toBe(403);
    expect(before.body.code).toBe('EVENT_NOT_STARTED');
    expect((await t.http.get(claimPath(early.eventId, early.couponIds[0]), m.accessToken)).body.status).toBe('NONE');
    await new Promise((resolve) => setTimeout(resolve, 1600));
    expect((await t.http.post(claimPath(early.eventId, early.couponIds[0]), undefined, m.accessToken)).status).toBe(
      202,
    );

    const ended = await createEvent(t.http, admin, eventBody({ startsIn: -7200_000, endsIn: -3600_000 }));
    const n = member();
    const after = await t.http.post(claimPath(ended.eventId, ended.couponIds[0]), undefined, n.accessToken);
    expect(after.status).toBe(410);
    expect(after.body.code).toBe('EVENT_ENDED');
    // The admin extends the event (and the coupon): the edit evicts the cached copy, the member may claim.
    const until = new Date(Date.now() + 3600_000).toISOString();
    const extended = await t.http.patch(
      `/api/admin/events/${ended.eventId}`,
      { endsAt: until, coupons: [{ id: ended.couponIds[0], validUntil: until }] },
      admin,
    );
    expect(extended.status).toBe(200);
    expect((await t.http.post(claimPath(ended.eventId, ended.couponIds[0]), undefined, n.accessToken)).status).toBe(
      202,
    );
  });

  it('a coupon whose Redis state vanished is rebuilt from MySQL before deciding: no second claim', async () => {
    const { eventId, couponIds } = await createEvent(t.http, admin, eventBody({ max: 2 }));
    const [couponId] = couponIds;
    const [a, b, c] = [member(), member(), member()];
    for (const m of [a, b])
      expect((await t.http.post(claimPath(eventId, couponId), undefined, m.accessToken)).status).toBe(202);
    await until('2 rows', async () => (await rows(couponId)) === 2, Boolean, 5000);
    const redis = t.app.get(Redis);
    const keys = couponKeys(t.config.REDIS_PREFIX, couponId);
    await redis.del(keys.state, keys.members, keys.pending);
    const [again, other] = await Promise.all([
      t.http.post(claimPath(eventId, couponId), undefined, a.accessToken),
      t.http.post(claimPath(eventId, couponId), undefined, c.accessToken),
    ]);
    expect(again.body.code).toBe('COUPON_ALREADY_ISSUED');
    expect(other.body.code).toBe('COUPON_SOLD_OUT');
    expect(await redis.scard(keys.members)).toBe(2);
  });

  it('adds a coupon by PATCH and refuses a new coupon without every field', async () => {
    const { eventId } = await createEvent(t.http, admin, eventBody());
    const extra = eventBody({ max: 7 }).coupons[0];
    const added = await t.http.patch(`/api/admin/events/${eventId}`, { title: 'Renamed', coupons: [extra] }, admin);
    expect(added.status).toBe(200);
    expect(added.body.title).toBe('Renamed');
    expect(added.body.coupons).toHaveLength(2);
    const shown = await t.http.get(`/api/events/${eventId}`);
    expect(shown.body.title).toBe('Renamed');
    expect(shown.body.coupons[1]).toMatchObject({ maxIssuance: 7, remaining: 7 });
    const partial = await t.http.patch(`/api/admin/events/${eventId}`, { coupons: [{ name: 'half' }] }, admin);
    expect(partial.status).toBe(400);
    expect((await t.http.patch('/api/admin/events/999999999', { title: 'x' }, admin)).status).toBe(404);
  });

  it('a pending claim whose job was lost is re-enqueued by the sweeper', async () => {
    const { eventId, couponIds } = await createEvent(t.http, admin, eventBody({ max: 3 }));
    const [couponId] = couponIds;
    const m = member();
    const redis = t.app.get(Redis);
    const keys = couponKeys(t.config.REDIS_PREFIX, couponId);
    // What a worker killed between the Lua accept and the enqueue leaves behind: accepted + pending, no job.
    await redis.sadd(keys.members, m.id);
    await redis.zadd(keys.pending, Date.now() - 5000, m.id);
    await redis.sadd(pendingIndexKey(t.config.REDIS_PREFIX), couponId);
    expect((await t.http.get(claimPath(eventId, couponId), m.accessToken)).body.status).toBe('PENDING');
    await until(
      'claim ISSUED',
      async () => (await t.http.get(claimPath(eventId, couponId), m.accessToken)).body.status === 'ISSUED',
      Boolean,
      8000,
    );
    // The row commits before the pending mark is cleared (a crash between them leaves a harmless replay),
    // so ISSUED can be seen a moment before the mark goes: wait for it rather than race it.
    await until(
      'pending mark cleared',
      () => redis.zcard(keys.pending),
      (n) => n === 0,
      5000,
    );
  });
  it('remembers unknown event ids briefly (a scan does not reach MySQL each time), and creating the id drops that at once', async () => {
    const hits = async () =>
      Number(
        /^pick_cache_hits_total\{[^}]*cache="event"[^}]*\} (\d+)/m.exec(
          (await t.http.get<string>('/metrics')).body,
        )?.[1] ?? 0,
      );
    const [{ max }] = await t.app
      .get(EntityManager)
      .fork()
      .getConnection()
      .execute<{ max: number }[]>('select coalesce(max(id), 0) max from event');
    const probed = Array.from({ length: 20 }, (_, i) => String(Number(max) + 1 + i));
    for (const id of probed) expect((await t.http.get(`/api/events/${id}`)).body.code).toBe('EVENT_NOT_FOUND');
    const before = await hits();
    for (const id of probed) expect((await t.http.get(`/api/events/${id}`)).status).toBe(404);
    expect((await hits()) - before).toBe(probed.length);
    // Auto-increment hands out the next ids, which the scan has just remembered as unknown.
    const { eventId } = await createEvent(t.http, admin, eventBody());
    expect(probed).toContain(eventId);
    expect((await t.http.get(`/api/events/${eventId}`)).status).toBe(200);
  });
});

describe('coupon.changed broadcast', () => {
  it('an edit on one app evicts the cached event in another', async () => {
    const [a, b] = [await startTestApp(), await startTestApp()];
    try {
      const admin = (await mint(a.config, 1, MemberRole.ADMIN))[0].accessToken;
      const { eventId } = await createEvent(a.http, admin, eventBody());
      expect((await b.http.get(`/api/events/${eventId}`)).status).toBe(200); // cached in b now
      const edited = await a.http.patch(`/api/admin/events/${eventId}`, { title: 'Edited elsewhere' }, admin);
      expect(edited.status).toBe(200);
      const started = Date.now();
      await until(
        'edit seen by the other app',
        async () => (await b.http.get(`/api/events/${eventId}`)).body.title === 'Edited elsewhere',
        Boolean,
        2000,
        10,
      );
      console.log(`coupon.changed seen by the other app after ${Date.now() - started} ms`);

      // Another deployment sharing the Redis server (pub/sub ignores dbs) must not evict ours.
      await b.app
        .get(EntityManager)
        .fork()
        .getConnection()
        .execute('update event set title = ? where id = ?', ['Changed behind the cache', eventId]);
      const client = a.app.get<ClientProxy>(BROADCAST_CLIENT);
      await firstValueFrom(client.emit(Broadcasts.COUPON_CHANGED, { eventId, scope: 'another-deployment' }), {
        defaultValue: undefined,
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect((await b.http.get(`/api/events/${eventId}`)).body.title).toBe('Edited elsewhere');
      await firstValueFrom(client.emit(Broadcasts.COUPON_CHANGED, { eventId, scope: a.config.REDIS_PREFIX }), {
        defaultValue: undefined,
      });
      await until(
        'own-scope broadcast evicts',
        async () => (await b.http.get(`/api/events/${eventId}`)).body.title === 'Changed behind the cache',
        Boolean,
        2000,
        10,
      );
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});

describe('QUEUE_PROCESSORS_ENABLED / HTTP_ENABLED', () => {
  it('an HTTP-only process accepts claims without persisting them; a worker-only process persists them', async () => {
    const web = await startTestApp({ QUEUE_PROCESSORS_ENABLED: 'false' });
    let worker: TestApp | undefined;
    try {
      const admin = (await mint(web.config, 1, MemberRole.ADMIN))[0].accessToken;
      const [m] = await mint(web.config, 1);
      const { eventId, couponIds } = await createEvent(web.http, admin, eventBody({ max: 10 }));
      const path = `/api/events/${eventId}/coupons/${couponIds[0]}/issue`;
      expect((await web.http.post(path, undefined, m.accessToken)).status).toBe(202);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect((await web.http.get(path, m.accessToken)).body.status).toBe('PENDING');
      worker = await startTestApp({ HTTP_ENABLED: 'false' });
      await until(
        'claim ISSUED',
        async () => (await web.http.get(path, m.accessToken)).body.status === 'ISSUED',
        Boolean,
        5000,
      );
      const metrics = await web.http.get('/metrics');
      expect(String(metrics.body)).toMatch(/pick_coupon_claims_total\{result="accepted".*\} [1-9]/);
    } finally {
      await worker?.close();
      await web.close();
    }
  });
});

describe('Redis down', () => {
  it('an event edit still commits (the broadcast failure is logged), the event still reads, and claims get 503', async () => {
    const own = new OwnRedis(6393);
    await own.start({ fresh: true });
    const app = await startTestApp({ REDIS_PORT: '6393', REDIS_DB: '0' });
    try {
      const admin = (await mint(app.config, 1, MemberRole.ADMIN))[0].accessToken;
      const [m] = await mint(app.config, 1);
      const { eventId, couponIds } = await createEvent(app.http, admin, eventBody({ max: 10 }));
      await own.kill();
      const edited = await app.http.patch(
        `/api/admin/events/${eventId}`,
        { title: 'Edited while Redis is down' },
        admin,
      );
      expect(edited.status).toBe(200);
      const shown = await app.http.get(`/api/events/${eventId}`);
      expect(shown.status).toBe(200);
      expect(shown.body.title).toBe('Edited while Redis is down');
      expect(shown.body.coupons[0].remaining).toBeNull();
      const claim = await app.http.post(
        `/api/events/${eventId}/coupons/${couponIds[0]}/issue`,
        undefined,
        m.accessToken,
      );
      expect(claim.status).toBe(503);
      expect(claim.body.code).toBe('SERVICE_UNAVAILABLE');
    } finally {
      // Redis back first: the app's shutdown (Bull's close) is bounded but quicker with it.
      await own.start();
      await app.close();
      await own.stop();
    }
  });
});

describe('REDIS_REQUIRE_AOF (on by default in production)', () => {
  it('on a Redis without AOF claims are refused (503, Retry-After) and readiness says why; on one with AOF they are accepted', async () => {
    // The machine's shared Redis keeps nothing on disk (appendonly no).
    const noAof = await startTestApp({ REDIS_REQUIRE_AOF: 'true' });
    const withAof = new OwnRedis(6393);
    await withAof.start({ fresh: true });
    const durable = await startTestApp({ REDIS_REQUIRE_AOF: 'true', REDIS_PORT: '6393', REDIS_DB: '0' });
    try {
      const admin = (await mint(noAof.config, 1, MemberRole.ADMIN))[0].accessToken;
      const [m] = await mint(noAof.config, 1);
      const detail = async (t: TestApp) =>
        ((await t.http.get('/health/ready')).body as { checks?: { redis?: { detail?: string } } }).checks?.redis
          ?.detail ?? '';
      expect(
        await until(
          'readiness reads the persistence',
          () => detail(noAof),
          (d) => d !== '',
        ),
      ).toMatch(/AOF off: claims refused \(REDIS_REQUIRE_AOF\)/);
      expect(
        await until(
          'readiness reads the persistence',
          () => detail(durable),
          (d) => d !== '',
        ),
      ).toMatch(/AOF on \(appendfsync everysec\)$/);
      for (const [t, expected] of [
        [noAof, 503],
        [durable, 202],
      ] as const) {
        const { eventId, couponIds } = await createEvent(t.http, admin, eventBody({ max: 10 }));
        const claim = await t.http.post(
          `/api/events/${eventId}/coupons/${couponIds[0]}/issue`,
          undefined,
          m.accessToken,
        );
        expect(claim.status).toBe(expected);
        if (expected === 503) {
          expect(claim.body.code).toBe('SERVICE_UNAVAILABLE');
          expect(claim.headers.get('retry-after')).toBe('30');
          // Nothing was decided: the member is not in the issued set.
          expect(await t.app.get(CouponStock).accepted(couponIds[0], m.id)).toBe(false);
        }
      }
    } finally {
      await Promise.all([noAof.close(), durable.close()]);
      await withAof.stop();
    }
  });
});

describe('a claim that can never be persisted', () => {
  it('is voided (slot freed, nothing pending) when its member was deleted before the write', async () => {
    const web = await startTestApp({ QUEUE_PROCESSORS_ENABLED: 'false' });
    let worker: TestApp | undefined;
    try {
      const admin = (await mint(web.config, 1, MemberRole.ADMIN))[0].accessToken;
      const [gone, kept] = await mint(web.config, 2);
      const { eventId, couponIds } = await createEvent(web.http, admin, eventBody({ max: 5 }));
      const path = `/api/events/${eventId}/coupons/${couponIds[0]}/issue`;
      for (const m of [gone, kept]) expect((await web.http.post(path, undefined, m.accessToken)).status).toBe(202);
      await web.app.get(EntityManager).fork().getConnection().execute('delete from member where id = ?', [gone.id]);
      worker = await startTestApp({ HTTP_ENABLED: 'false' });
      await until(
        'claim ISSUED',
        async () => (await web.http.get(path, kept.accessToken)).body.status === 'ISSUED',
        Boolean,
        8000,
      );
      const keys = couponKeys(web.config.REDIS_PREFIX, couponIds[0]);
      const redis = web.app.get(Redis);
      await until('nothing pending', async () => (await redis.zcard(keys.pending)) === 0, Boolean, 5000);
      expect(await redis.smembers(keys.members)).toEqual([kept.id]);
      expect((await web.http.get(`/api/events/${eventId}`)).body.coupons[0].remaining).toBe(4);
    } finally {
      await worker?.close();
      await web.close();
    }
  });
});

describe('a batch job holding a claim that can never be persisted', () => {
  it('voids that claim and persists the others of the same job, which completes', async () => {
    // Own prefix: the exact job counts below must not see another file's batches.
    const prefix = `${process.env.REDIS_PREFIX ?? 'pick-test'}-badrow-${Date.now()}`;
    const web = await startTestApp({ QUEUE_PROCESSORS_ENABLED: 'false', REDIS_PREFIX: prefix });
    let worker: TestApp | undefined;
    try {
      const admin = (await mint(web.config, 1, MemberRole.ADMIN))[0].accessToken;
      const [first, gone, last] = await mint(web.config, 3);
      const { couponIds } = await createEvent(web.http, admin, eventBody({ max: 5 }));
      const [couponId] = couponIds;
      // Accepted in Redis, then enqueued in one turn of the event loop: one window, one job of 3.
      const stock = web.app.get(CouponStock);
      for (const m of [first, gone, last])
        expect((await stock.claim(couponId, m.id)).result).toBe(ClaimResult.ACCEPTED);
      const enqueuer = web.app.get(ClaimEnqueuer);
      await Promise.all([first, gone, last].map((m) => enqueuer.enqueue(couponId, m.id)));
      const batchQueue = web.app.get<Queue<IssuanceBatchJob>>(getQueueToken(ISSUANCE_BATCH_QUEUE));
      const [job, ...others] = await batchQueue.getWaiting();
      expect(others).toEqual([]);
      expect([...job.data.memberIds].sort()).toEqual([first.id, gone.id, last.id].sort());
      await web.app.get(EntityManager).fork().getConnection().execute('delete from member where id = ?', [gone.id]);

      worker = await startTestApp({ HTTP_ENABLED: 'false', REDIS_PREFIX: prefix });
      const keys = couponKeys(prefix, couponId);
      const redis = web.app.get(Redis);
      await until('nothing pending', async () => (await redis.zcard(keys.pending)) === 0, Boolean, 8000);
      const rows = await web.app
        .get(EntityManager)
        .fork()
        .getConnection()
        .execute<{ member_id: string | number }[]>('select member_id from member_coupon where coupon_id = ?', [
          couponId,
        ]);
      expect(rows.map((row) => String(row.member_id)).sort()).toEqual([first.id, last.id].sort());
      expect((await redis.smembers(keys.members)).sort()).toEqual([first.id, last.id].sort());
      expect(await redis.hlen(keys.jobs)).toBe(0);
      await until(
        'job completed',
        async () => (await batchQueue.getJobCounts()).failed === 0 && !(await batchQueue.getJob(String(job.id))),
        Boolean,
        5000,
      );
    } finally {
      await worker?.close();
      await web.close();
    }
  });
});

describe('claim path parameters', () => {
  it('refuses ids that are not positive integers with 400 VALIDATION_FAILED', async () => {
    const t = await startTestApp();
    try {
      const [m] = await mint(t.config, 1);
      for (const path of [
        '/api/events/abc/coupons/1/issue',
        '/api/events/1/coupons/0/issue',
        '/api/events/1/coupons/1e3/issue',
      ]) {
        const response = await t.http.post(path, undefined, m.accessToken);
        expect(response.status, path).toBe(400);
        expect(response.body.code).toBe('VALIDATION_FAILED');
      }
    } finally {
      await t.close();
    }
  });
});
