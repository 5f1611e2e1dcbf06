import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEvent, eventBody, mint } from '../testing/fixtures.js';
import { MemberRole } from '../members/member.entity.js';
import { startTestApp, type TestApp } from '../testing/app.js';
import { checkedFetch } from '../testing/http.js';
import { claimFirstCoupon } from './claim-flow.js';
import { createPickClient } from './pick-client.js';

const source = (path: string) => readFileSync(new URL(path, import.meta.url), 'utf8');

describe('the typed client (src/client) against the app', () => {
  let t: TestApp;
  let admin: string;

  beforeAll(async () => {
    t = await startTestApp();
    admin = (await mint(t.config, 1, MemberRole.ADMIN))[0].accessToken;
  });
  afterAll(() => t?.close());

  it('runs the README claim flow: logged in, claimed, issued, in my coupons', async () => {
    const { eventId, couponIds } = await createEvent(t.http, admin, eventBody({ max: 3 }));
    const member = await t.http.member();
    const issued = await claimFirstCoupon(t.url, { email: member.email, password: 'password123' }, eventId, {
      fetch: checkedFetch,
    });
    expect(issued).toMatchObject({ couponId: couponIds[0], eventId, status: 'UNUSED', usedAt: null });
    // Run again: the coupon is already issued (409), which the flow accepts as done.
    expect(
      (
        await claimFirstCoupon(t.url, { email: member.email, password: 'password123' }, eventId, {
          fetch: checkedFetch,
        })
      ).id,
    ).toBe(issued.id);
    const event = await t.http.get(`/api/events/${eventId}`);
    expect(event.body.coupons[0].remaining).toBe(2);
  });

  it('gives typed errors with their codes', async () => {
    const pick = createPickClient(t.url, { fetch: checkedFetch });
    const login = await pick.POST('/api/auth/login', {
      body: { email: 'nobody@test.pick', password: 'wrong-password' },
    });
    expect([login.response.status, login.error?.code]).toEqual([401, 'INVALID_CREDENTIALS']);
    const claim = await pick.POST('/api/events/{eventId}/coupons/{couponId}/issue', {
      params: { path: { eventId: '1', couponId: '1' } },
    });
    expect([claim.response.status, claim.error?.code]).toEqual([401, 'UNAUTHORIZED']);
  });

  it('is the code the README shows', () => {
    const example = /\/\/ #region claim-flow\n([\s\S]*?)\/\/ #endregion claim-flow/.exec(source('./claim-flow.ts'))![1];
    expect(source('../../README.md')).toContain(example);
  });
});
