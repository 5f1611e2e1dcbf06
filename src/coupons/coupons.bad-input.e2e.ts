import { EntityManager } from '@mikro-orm/mysql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Member, MemberRole } from '../members/member.entity.js';
import { startTestApp, type TestApp } from '../testing/app.js';
import { badInputTable, type BadInputCase } from '../testing/bad-input.js';
import { eventBody } from '../testing/fixtures.js';

/**
 * Malformed requests to the event, coupon and claim endpoints: the exact 4xx and code, never a 5xx, and
 * every error body in the same shape. Table-driven: one row per case (src/testing/bad-input.ts). What any
 * route does with a body or a query, whatever the feature: src/common/any-route.bad-input.e2e.ts; claims
 * past the claim limit: src/throttle/throttle.bad-input.e2e.ts.
 */
describe('coupon endpoints: bad input', () => {
  let t: TestApp;
  let admin: string;
  let customer: string;
  let eventId: string;
  let couponId: string;
  const now = Date.now();
  const iso = (offsetMs: number) => new Date(now + offsetMs).toISOString();
  const coupon = {
    name: 'c',
    discountType: 'PERCENTAGE',
    discountValue: 10,
    minimumProductPrice: 0,
    validFrom: iso(-1000),
    validUntil: iso(7_200_000),
    maxIssuance: 10,
  };
  const event = { title: 'bad input', startsAt: iso(-1000), endsAt: iso(3_600_000), coupons: [coupon] };

  beforeAll(async () => {
    t = await startTestApp();
    const member = await t.http.member('CUSTOMER');
    await t.app.get(EntityManager).fork().nativeUpdate(Member, { id: member.id }, { role: MemberRole.ADMIN });
    admin = (await t.http.post('/api/auth/login', { email: member.email, password: 'password123' })).body.accessToken;
    customer = (await t.http.member('CUSTOMER')).accessToken;
    const created = await t.http.post('/api/admin/events', event, admin);
    expect(created.status).toBe(201);
    eventId = created.body.id;
    couponId = created.body.coupons[0].id;
  });
  afterAll(() => t.close());

  const cases: BadInputCase<unknown>[] = [
    {
      name: 'claim: event id not a number',
      method: 'POST',
      path: () => '/api/events/abc/coupons/1/issue',
      token: () => customer,
      status: 400,
      code: 'VALIDATION_FAILED',
    },
    {
      name: 'claim: event id too long',
      method: 'POST',
      path: () => '/api/events/99999999999999999999999/coupons/1/issue',
      token: () => customer,
      status: 400,
      code: 'VALIDATION_FAILED',
    },
    {
      name: 'claim: negative ids',
      method: 'POST',
      path: () => '/api/events/-1/coupons/0/issue',
      token: () => customer,
      status: 400,
      code: 'VALIDATION_FAILED',
    },
    {
      name: 'claim: coupon id with letters',
      method: 'POST',
      path: () => `/api/events/${eventId}/coupons/${couponId}abc/issue`,
      token: () => customer,
      status: 400,
      code: 'VALIDATION_FAILED',
    },
    {
      name: 'claim: unknown coupon of a real event',
      method: 'POST',
      path: () => `/api/events/${eventId}/coupons/999999/issue`,
      token: () => customer,
      status: 404,
      code: 'COUPON_NOT_FOUND',
    },
    {
      name: 'claim: no token',
      method: 'POST',
      path: () => `/api/events/${eventId}/coupons/${couponId}/issue`,
      status: 401,
      code: 'UNAUTHORIZED',
    },
    {
      name: 'status: bad coupon id',
      method: 'GET',
      path: () => `/api/events/${eventId}/coupons/abc/issue`,
      token: () => customer,
      status: 400,
      code: 'VALIDATION_FAILED',
    },
    {
      name: 'event: id not a number',
      method: 'GET',
      path: () => '/api/events/abc',
      status: 400,
      code: 'VALIDATION_FAILED',
    },
    {
      name: 'event: exponent id',
      method: 'GET',
      path: () => '/api/events/1e5',
      status: 400,
      code: 'VALIDATION_FAILED',
    },
    {
      name: 'event: unknown',
      method: 'GET',
      path: () => '/api/events/987654321',
      status: 404,
      code: 'EVENT_NOT_FOUND',
    },
    {
      name: 'create: no coupons',
      method: 'POST',
      path: () => '/api/admin/events',
      body: { ...event, coupons: [] },
      token: () => admin,
      status: 400,
      code: 'VALIDATION_FAILED',
    },
    {
      name: 'create: coupons null',
      method: 'POST',
      path: () => '/api/admin/events',
      body: { ...event, coupons: null },
      token: () => admin,
      status: 400,
      code: 'VALIDATION_FAILED',
    },
    {
      name: 'create: a null coupon',
      method: 'POST',
      path: () => '/api/admin/events',
      body: { ...event, coupons: [null] },
      token: () => admin,
      status: 400,
      code: 'VALIDATION_FAILED',
    },
    {
      name: 'create: time not ISO-8601',
      method: 'POST',
      path: () => '/api/admin/events',
      body: { ...event, startsAt: 'yesterday' },
      token: () => admin,
      status: 400,
      code: 'VALIDATION_FAILED',
    },
    {
      name: 'create: impossible date',
      method: 'POST',
      path: () => '/api/admin/events',
      body: { ...event, startsAt: '2026-02-30T00:00:00Z' },
      token: () => admin,
      status: 400,
      code: 'VALIDATION_FAILED',
    },
    {
      name: 'create: ends when it starts',
      method: 'POST',
      path: () => '/api/admin/events',
      body: { ...event, endsAt: event.startsAt },
      token: () => admin,
      status: 400,
      code: 'VALIDATION_FAILED',
    },
    {
      name: 'create: negative stock',
      method: 'POST',
      path: () => '/api/admin/events',
      body: { ...event, coupons: [{ ...coupon, maxIssuance: -1 }] },
      token: () => admin,
      status: 400,
      code: 'VALIDATION_FAILED',
    },
    {
      name: 'create: huge stock',
      method: 'POST',
      path: () => '/api/admin/events',
      body: { ...event, coupons: [{ ...coupon, maxIssuance: 1e12 }] },
      token: () => admin,
      status: 400,
      code: 'VALIDATION_FAILED',
    },
    {
      name: 'create: 150 percent',
      method: 'POST',
      path: () => '/api/admin/events',
      body: { ...event, coupons: [{ ...coupon, discountValue: 150 }] },
      token: () => admin,
      status: 400,
      code: 'VALIDATION_FAILED',
    },
    {
      name: 'create: unknown field',
      method: 'POST',
      path: () => '/api/admin/events',
      body: { ...event, priority: 1 },
      token: () => admin,
      status: 400,
      code: 'VALIDATION_FAILED',
    },
    {
      name: 'create: overlong title',
      method: 'POST',
      path: () => '/api/admin/events',
      body: { ...event, title: 'x'.repeat(500) },
      token: () => admin,
      status: 400,
      code: 'VALIDATION_FAILED',
    },
    {
      name: 'create: by a customer',
      method: 'POST',
      path: () => '/api/admin/events',
      body: event,
      token: () => customer,
      status: 403,
      code: 'FORBIDDEN',
    },
    {
      name: 'patch: null title',
      method: 'PATCH',
      path: () => `/api/admin/events/${eventId}`,
      body: { title: null },
      token: () => admin,
      status: 400,
      code: 'VALIDATION_FAILED',
    },
    {
      name: 'patch: null end',
      method: 'PATCH',
      path: () => `/api/admin/events/${eventId}`,
      body: { endsAt: null },
      token: () => admin,
      status: 400,
      code: 'VALIDATION_FAILED',
    },
    {
      name: 'patch: coupon with null stock',
      method: 'PATCH',
      path: () => `/api/admin/events/${eventId}`,
      body: () => ({ coupons: [{ id: couponId, maxIssuance: null }] }),
      token: () => admin,
      status: 400,
      code: 'VALIDATION_FAILED',
    },
    {
      name: 'patch: coupon of another event',
      method: 'PATCH',
      path: () => `/api/admin/events/${eventId}`,
      body: { coupons: [{ id: '999999', maxIssuance: 5 }] },
      token: () => admin,
      status: 404,
      code: 'COUPON_NOT_FOUND',
    },
    {
      name: 'patch: zero stock',
      method: 'PATCH',
      path: () => `/api/admin/events/${eventId}`,
      body: () => ({ coupons: [{ id: couponId, maxIssuance: 0 }] }),
      token: () => admin,
      status: 400,
      code: 'VALIDATION_FAILED',
    },
    {
      name: 'patch: a coupon changed to 150 percent (the coupon rules hold for a change too)',
      method: 'PATCH',
      path: () => `/api/admin/events/${eventId}`,
      body: () => ({ coupons: [{ id: couponId, discountValue: 150 }] }),
      token: () => admin,
      status: 400,
      code: 'VALIDATION_FAILED',
    },
    {
      name: 'patch: a coupon changed to end before it starts',
      method: 'PATCH',
      path: () => `/api/admin/events/${eventId}`,
      body: () => ({ coupons: [{ id: couponId, validUntil: iso(-2000) }] }),
      token: () => admin,
      status: 400,
      code: 'VALIDATION_FAILED',
    },
    {
      name: 'patch: unknown event',
      method: 'PATCH',
      path: () => '/api/admin/events/99999',
      body: { title: 'y' },
      token: () => admin,
      status: 404,
      code: 'EVENT_NOT_FOUND',
    },
    {
      name: 'patch: end before start',
      method: 'PATCH',
      path: () => `/api/admin/events/${eventId}`,
      body: { endsAt: iso(-5000) },
      token: () => admin,
      status: 400,
      code: 'VALIDATION_FAILED',
    },
    {
      name: 'patch: body is an array',
      method: 'PATCH',
      path: () => `/api/admin/events/${eventId}`,
      body: [],
      token: () => admin,
      status: 400,
      code: 'VALIDATION_FAILED',
    },
    {
      name: 'my coupons: no token',
      method: 'GET',
      path: () => '/api/members/me/coupons',
      status: 401,
      code: 'UNAUTHORIZED',
    },
    // --- lists of coupons item by item (IsListOf); the event status's query ---
    {
      name: 'create event: coupons nested in a list',
      method: 'POST',
      path: '/api/admin/events',
      body: () => ({ ...eventBody(), coupons: [[]] }),
      token: () => admin,
      status: 400,
      code: 'VALIDATION_FAILED',
    },
    {
      name: 'create event: a valid coupon nested in a list',
      method: 'POST',
      path: '/api/admin/events',
      body: () => ({ ...eventBody(), coupons: [eventBody().coupons] }),
      token: () => admin,
      status: 400,
      code: 'VALIDATION_FAILED',
    },
    {
      name: 'update event: coupons nested in a list',
      method: 'PATCH',
      path: () => `/api/admin/events/${eventId}`,
      body: { coupons: [[]] },
      token: () => admin,
      status: 400,
      code: 'VALIDATION_FAILED',
    },
    {
      name: 'event status: unknown query parameter beside a known one',
      method: 'GET',
      path: () => `/api/admin/events/${eventId}/status?maxAgeMs=0&x=1`,
      token: () => admin,
      status: 400,
      code: 'VALIDATION_FAILED',
    },
  ];

  badInputTable(cases, () => ({ http: t.http, actors: undefined }), 37);

  it('left the event as it was', async () => {
    const res = await t.http.get(`/api/events/${eventId}`);
    expect(res.status).toBe(200);
    expect(res.body.title).toBe(event.title);
    expect(res.body.coupons).toHaveLength(1);
    expect(res.body.coupons[0].maxIssuance).toBe(10);
  });
});
