import { EntityManager } from '@mikro-orm/mysql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEvent, eventBody, validProduct } from '../testing/fixtures.js';
import { Member, MemberRole } from '../members/member.entity.js';
import { testAdminToken } from '../testing/admin.js';
import { startTestApp, type TestApp } from '../testing/app.js';
import type { HttpClient, HttpResult } from '../testing/http.js';
import { SessionRevocations } from './session-revocations.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const decode = (jwt: string) =>
  JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString()) as Record<string, unknown>;

/** The stated bound for an ended session to be refused by every worker while Redis is up. */
const END_BOUND_MS = 500;

/** Polls `probe` until it returns `status`; returns the milliseconds it took (or throws after `limitMs`). */
async function refusedWithin(
  probe: () => Promise<HttpResult>,
  status: number,
  code: string,
  limitMs: number,
): Promise<number> {
  const started = performance.now();
  for (;;) {
    const result = await probe();
    if (result.status === status && result.body?.code === code) return performance.now() - started;
    if (result.status >= 500) throw new Error(`5xx while waiting: ${JSON.stringify(result.body)}`);
    if (performance.now() - started > limitMs)
      throw new Error(`still ${result.status} ${JSON.stringify(result.body)} after ${limitMs} ms`);
    await sleep(5);
  }
}

const refresh = (http: HttpClient, refreshToken: string) => http.post('/api/auth/token/refresh', { refreshToken });
const me = (http: HttpClient, accessToken: string) => http.get('/api/members/me/coupons', accessToken);

/**
 * Sessions against two app instances ("workers") sharing the real MySQL and Redis: an admin acts
 * on one, the other must refuse the member's tokens within the bound.
 */
describe('sessions', () => {
  let a: TestApp;
  let b: TestApp;
  let admin: string;
  const bounds: Record<string, number> = {};

  beforeAll(async () => {
    [a, b] = await Promise.all([startTestApp(), startTestApp()]);
    admin = await testAdminToken();
  });
  afterAll(async () => {
    console.log(`sessions ended on the other worker within (ms): ${JSON.stringify(bounds)}`);
    await Promise.all([a?.close(), b?.close()]);
  });

  it('a replayed refresh token ends its whole session: thief and victim are both cut, other sessions live on', async () => {
    const victim = await a.http.member('CUSTOMER');
    const otherDevice = (await a.http.post('/api/auth/login', { email: victim.email, password: 'password123' })).body;
    // The thief copied the victim's refresh token and rotates it first.
    const thief = await refresh(b.http, victim.refreshToken);
    expect(thief.status).toBe(200);
    expect((await me(b.http, thief.body.accessToken)).status).toBe(200);
    // The victim's app refreshes with the same (now rotated) token: reuse detected.
    const replay = await refresh(a.http, victim.refreshToken);
    expect([replay.status, replay.body.code]).toEqual([401, 'REFRESH_TOKEN_REVOKED']);
    // The thief's new refresh token is dead, and so is its access token, on every worker.
    const thiefRefresh = await refresh(a.http, thief.body.refreshToken);
    expect([thiefRefresh.status, thiefRefresh.body.code]).toEqual([401, 'REFRESH_TOKEN_REVOKED']);
    bounds.replay = await refusedWithin(() => me(b.http, thief.body.accessToken), 401, 'SESSION_ENDED', END_BOUND_MS);
    expect((await me(a.http, victim.accessToken)).body.code).toBe('SESSION_ENDED');
    // The member's other session is untouched.
    expect((await me(a.http, otherDevice.accessToken)).status).toBe(200);
    expect((await refresh(b.http, otherDevice.refreshToken)).status).toBe(200);
  });

  it('thief and victim refreshing the same token at once: at most one 200, and afterwards neither can refresh', async () => {
    const victim = await a.http.member('CUSTOMER');
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => refresh(i % 2 ? a.http : b.http, victim.refreshToken)),
    );
    const winners = results.filter((r) => r.status === 200);
    expect(winners.length).toBeLessThanOrEqual(1);
    expect(results.filter((r) => r.status === 401 && r.body.code === 'REFRESH_TOKEN_REVOKED')).toHaveLength(
      20 - winners.length,
    );
    for (const winner of winners) {
      expect((await refresh(a.http, winner.body.refreshToken)).status).toBe(401);
      await refusedWithin(() => me(b.http, winner.body.accessToken), 401, 'SESSION_ENDED', END_BOUND_MS);
    }
  });

  it('logout-all ends every session of the member (refresh and access tokens), on every worker; a new login works', async () => {
    const member = await a.http.member('CUSTOMER');
    const second = (await b.http.post('/api/auth/login', { email: member.email, password: 'password123' })).body;
    const out = await a.http.post('/api/auth/logout-all', undefined, member.accessToken);
    expect(out.status).toBe(204);
    bounds.logoutAll = await refusedWithin(() => me(b.http, second.accessToken), 401, 'SESSION_ENDED', END_BOUND_MS);
    expect((await me(a.http, member.accessToken)).body.code).toBe('SESSION_ENDED');
    for (const token of [member.refreshToken, second.refreshToken]) {
      expect((await refresh(b.http, token)).status).toBe(401);
    }
    const again = await a.http.post('/api/auth/login', { email: member.email, password: 'password123' });
    expect(again.status).toBe(200);
    expect((await me(b.http, again.body.accessToken)).status).toBe(200);
    expect((await refresh(b.http, again.body.refreshToken)).status).toBe(200);
    // A body on logout-all is refused like any unknown field.
    const withBody = await a.http.post('/api/auth/logout-all', { everywhere: true }, again.body.accessToken);
    expect([withBody.status, withBody.body.code]).toEqual([400, 'VALIDATION_FAILED']);
  });

  it('logout ends that session at once, its access token included', async () => {
    const member = await a.http.member('CUSTOMER');
    const other = (await a.http.post('/api/auth/login', { email: member.email, password: 'password123' })).body;
    expect(
      (await a.http.post('/api/auth/logout', { refreshToken: member.refreshToken }, member.accessToken)).status,
    ).toBe(204);
    await refusedWithin(() => me(b.http, member.accessToken), 401, 'SESSION_ENDED', END_BOUND_MS);
    expect((await me(b.http, other.accessToken)).status).toBe(200);
  });

  it('demotion ends the sessions: the seller can no longer write products nor refresh into the old role', async () => {
    const seller = await a.http.member('SELLER');
    expect((await b.http.post('/api/seller/products', validProduct, seller.accessToken)).status).toBe(201);
    const demoted = await a.http.request('PUT', `/api/admin/members/${seller.id}/role`, {
      body: { role: 'CUSTOMER' },
      token: admin,
    });
    expect([demoted.status, demoted.body.role, demoted.body.sellerStatus]).toEqual([200, 'CUSTOMER', null]);
    bounds.demotion = await refusedWithin(
      () => b.http.post('/api/seller/products', validProduct, seller.accessToken),
      401,
      'SESSION_ENDED',
      END_BOUND_MS,
    );
    expect((await refresh(b.http, seller.refreshToken)).body.code).toBe('SESSION_ENDED');
    // Logging in again gives a customer's token.
    const login = await b.http.post('/api/auth/login', { email: seller.email, password: 'password123' });
    expect(decode(login.body.accessToken).role).toBe('CUSTOMER');
    expect((await b.http.post('/api/seller/products', validProduct, login.body.accessToken)).status).toBe(403);
  });

  it('deletion ends the sessions and the account cannot log in again', async () => {
    const member = await a.http.member('CUSTOMER');
    expect((await a.http.delete(`/api/admin/members/${member.id}`, admin)).status).toBe(204);
    bounds.deletion = await refusedWithin(() => me(b.http, member.accessToken), 401, 'SESSION_ENDED', END_BOUND_MS);
    expect((await refresh(b.http, member.refreshToken)).body.code).toBe('SESSION_ENDED');
    expect((await b.http.post('/api/auth/login', { email: member.email, password: 'password123' })).body.code).toBe(
      'INVALID_CREDENTIALS',
    );
    expect((await a.http.get(`/api/admin/members/${member.id}`, admin)).body.code).toBe('MEMBER_NOT_FOUND');
  });

  it('a ban ends the sessions: claims, refresh and login get 403 MEMBER_BANNED; after unban the member logs in and claims', async () => {
    const { eventId, couponIds } = await createEvent(a.http, admin, eventBody({ max: 10 }));
    const claim = (http: HttpClient, token: string) =>
      http.post(`/api/events/${eventId}/coupons/${couponIds[0]}/issue`, undefined, token);
    const member = await a.http.member('CUSTOMER');
    expect((await claim(b.http, member.accessToken)).status).toBe(202);
    const banned = await a.http.post(`/api/admin/members/${member.id}/ban`, undefined, admin);
    expect([banned.status, banned.body.banned]).toEqual([200, true]);
    bounds.ban = await refusedWithin(() => claim(b.http, member.accessToken), 403, 'MEMBER_BANNED', END_BOUND_MS);
    expect((await claim(a.http, member.accessToken)).body.code).toBe('MEMBER_BANNED');
    expect((await refresh(b.http, member.refreshToken)).body.code).toBe('MEMBER_BANNED');
    const login = await b.http.post('/api/auth/login', { email: member.email, password: 'password123' });
    expect([login.status, login.body.code]).toEqual([403, 'MEMBER_BANNED']);
    // A wrong password still says nothing about the ban.
    expect((await b.http.post('/api/auth/login', { email: member.email, password: 'wrong-password' })).body.code).toBe(
      'INVALID_CREDENTIALS',
    );
    expect((await a.http.post(`/api/admin/members/${member.id}/unban`, undefined, admin)).body.banned).toBe(false);
    const back = await b.http.post('/api/auth/login', { email: member.email, password: 'password123' });
    expect(back.status).toBe(200);
    expect((await claim(a.http, back.body.accessToken)).body.code).toBe('COUPON_ALREADY_ISSUED');
    // The old token stays refused after the unban: it belonged to the ended sessions.
    expect((await claim(b.http, member.accessToken)).body.code).toBe('MEMBER_BANNED');
  });

  it('refresh reads the member: a role changed in MySQL is in the next access token', async () => {
    const member = await a.http.member('CUSTOMER');
    await a.app.get(EntityManager).fork().nativeUpdate(Member, { id: member.id }, { role: MemberRole.ADMIN });
    const rotated = await refresh(b.http, member.refreshToken);
    expect(rotated.status).toBe(200);
    expect(decode(rotated.body.accessToken).role).toBe('ADMIN');
    expect((await b.http.get(`/api/admin/members/${member.id}`, rotated.body.accessToken)).status).toBe(200);
  });

  it('a worker whose stream reader lost Redis catches up on reconnect: nothing is missed', async () => {
    const member = await a.http.member('CUSTOMER');
    const reader = (b.app.get(SessionRevocations) as unknown as { reader: { disconnect(): void } }).reader;
    reader.disconnect();
    expect((await a.http.post('/api/auth/logout-all', undefined, member.accessToken)).status).toBe(204);
    await sleep(100);
    // b has not heard of it yet (its reader is down)...
    expect((await me(b.http, member.accessToken)).status).toBe(200);
    // ...and refuses the token once the reader is back (it reconnects within ~1 s and reads from its last id).
    bounds.afterReconnect = await refusedWithin(() => me(b.http, member.accessToken), 401, 'SESSION_ENDED', 5_000);
  });
});

describe('session limits', () => {
  let short: TestApp;
  let t: TestApp;

  beforeAll(async () => {
    [short, t] = await Promise.all([
      startTestApp({ SESSION_MAX_AGE_SECONDS: '5' }),
      startTestApp({ SESSIONS_PER_MEMBER_MAX: '3' }),
    ]);
  });
  afterAll(() => Promise.all([short?.close(), t?.close()]));

  it('a session has an absolute lifetime: refreshing keeps it alive only until SESSION_MAX_AGE_SECONDS after login', async () => {
    const member = await short.http.member('CUSTOMER');
    const loginAt = decode(member.accessToken).iat as number;
    let token = member.refreshToken;
    // Refreshing every second would slide a 14-day window forever; here it ends 5 s after the login.
    for (let i = 0; i < 2; i++) {
      await sleep(1000);
      const rotated = await refresh(short.http, token);
      expect(rotated.status).toBe(200);
      expect(decode(rotated.body.refreshToken).exp).toBeLessThanOrEqual(loginAt + 5);
      token = rotated.body.refreshToken;
    }
    await sleep(Math.max(0, (loginAt + 5) * 1000 - Date.now()) + 1100);
    const late = await refresh(short.http, token);
    expect([late.status, late.body.code]).toEqual([401, 'TOKEN_EXPIRED']);
  });

  it('caps the sessions per member: the oldest are dropped (refresh and access tokens)', async () => {
    const member = await t.http.member('CUSTOMER');
    const sessions = [member];
    for (let i = 0; i < 4; i++)
      sessions.push((await t.http.post('/api/auth/login', { email: member.email, password: 'password123' })).body);
    const results = await Promise.all(sessions.map((session) => refresh(t.http, session.refreshToken)));
    expect(results.map((r) => r.status)).toEqual([401, 401, 200, 200, 200]);
    expect((await me(t.http, sessions[0].accessToken)).body.code).toBe('SESSION_ENDED');
    expect((await me(t.http, sessions[4].accessToken)).status).toBe(200);
  });

  it('10 concurrent logins with a cap of 3: exactly 3 sessions can refresh', async () => {
    const member = await t.http.member('CUSTOMER');
    const logins = await Promise.all(
      Array.from({ length: 10 }, () =>
        t.http.post('/api/auth/login', { email: member.email, password: 'password123' }),
      ),
    );
    expect(logins.every((login) => login.status === 200)).toBe(true);
    const results = await Promise.all(logins.map((login) => refresh(t.http, login.body.refreshToken)));
    expect(results.filter((r) => r.status === 200)).toHaveLength(3);
    expect(results.filter((r) => r.status === 401 && r.body.code === 'REFRESH_TOKEN_REVOKED')).toHaveLength(7);
  });
});
