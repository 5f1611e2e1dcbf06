import { JwtService } from '@nestjs/jwt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAppWithActors, type RoleActors, type TestMember } from '../testing/actors.js';
import type { TestApp } from '../testing/app.js';
import { badInputTable, V, type BadInputCase } from '../testing/bad-input.js';
import { validProduct, validSignup } from '../testing/fixtures.js';

/**
 * Malformed requests to signup, login, refresh and logout, and tokens that are forged, expired, of the
 * wrong kind or of sessions that have ended (replayed, logged out, banned, deleted or demoted members):
 * each gets the exact 4xx and code, never a 5xx. Table-driven: one row per case (src/testing/bad-input.ts).
 * What any route does with a body or a query, whatever the feature: src/common/any-route.bad-input.e2e.ts.
 */

interface Actors extends RoleActors {
  usedRefresh: string;
  accessSecret: string;
  refreshSecret: string;
  banned: TestMember;
  deleted: TestMember;
  demoted: TestMember;
  loggedOutAll: TestMember;
  loggedOut: TestMember;
  /** The token a replay's family had rotated to (the family is revoked). */
  replayedFamilyRefresh: string;
}

function jwt(
  secret: string,
  payload: Record<string, unknown>,
  options: { algorithm?: 'HS256' | 'HS512' } = {},
): string {
  return new JwtService({ secret }).sign(payload, { algorithm: options.algorithm ?? 'HS256' });
}
const now = () => Math.floor(Date.now() / 1000);
const unsignedJwt = (payload: Record<string, unknown>) =>
  `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.`;

const cases: BadInputCase<Actors>[] = [
  // --- signup fields ---
  {
    name: 'signup: unknown field',
    method: 'POST',
    path: '/api/auth/signup',
    body: () => ({ ...validSignup(), isAdmin: true }),
    status: 400,
    code: V,
  },
  {
    name: 'signup: role ADMIN self-assigned',
    method: 'POST',
    path: '/api/auth/signup',
    body: () => ({ ...validSignup(), role: 'ADMIN' }),
    status: 400,
    code: V,
  },
  {
    name: 'signup: role lower case',
    method: 'POST',
    path: '/api/auth/signup',
    body: () => ({ ...validSignup(), role: 'customer' }),
    status: 400,
    code: V,
  },
  {
    name: 'signup: email is a number',
    method: 'POST',
    path: '/api/auth/signup',
    body: () => ({ ...validSignup(), email: 12345 }),
    status: 400,
    code: V,
  },
  {
    name: 'signup: email is not an address',
    method: 'POST',
    path: '/api/auth/signup',
    body: () => ({ ...validSignup(), email: 'not-an-email' }),
    status: 400,
    code: V,
  },
  {
    name: 'signup: email overlong',
    method: 'POST',
    path: '/api/auth/signup',
    body: () => ({
      ...validSignup(),
      email: `${'a'.repeat(64)}@${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(60)}.${'e'.repeat(60)}.com`,
    }),
    status: 400,
    code: V,
  },
  {
    name: 'signup: password too short',
    method: 'POST',
    path: '/api/auth/signup',
    body: () => ({ ...validSignup(), password: 'short' }),
    status: 400,
    code: V,
  },
  {
    name: 'signup: password over 72 bytes',
    method: 'POST',
    path: '/api/auth/signup',
    body: () => ({ ...validSignup(), password: 'p'.repeat(73) }),
    status: 400,
    code: V,
  },
  {
    name: 'signup: password is an object',
    method: 'POST',
    path: '/api/auth/signup',
    body: () => ({ ...validSignup(), password: { $gt: '' } }),
    status: 400,
    code: V,
  },
  {
    name: 'signup: name overlong',
    method: 'POST',
    path: '/api/auth/signup',
    body: () => ({ ...validSignup(), name: 'n'.repeat(51) }),
    status: 400,
    code: V,
  },
  {
    name: 'signup: name only blanks',
    method: 'POST',
    path: '/api/auth/signup',
    body: () => ({ ...validSignup(), name: '   ' }),
    status: 400,
    code: V,
  },
  {
    name: 'signup: nickname with spaces',
    method: 'POST',
    path: '/api/auth/signup',
    body: () => ({ ...validSignup(), nickname: 'a b' }),
    status: 400,
    code: V,
  },
  {
    name: 'signup: phone with letters',
    method: 'POST',
    path: '/api/auth/signup',
    body: () => ({ ...validSignup(), phone: '010-CALL-ME' }),
    status: 400,
    code: V,
  },
  {
    name: 'signup: address 10k characters',
    method: 'POST',
    path: '/api/auth/signup',
    body: () => ({ ...validSignup(), address: 'a'.repeat(10_000) }),
    status: 400,
    code: V,
  },
  {
    name: 'signup: every field missing but role',
    method: 'POST',
    path: '/api/auth/signup',
    body: { role: 'CUSTOMER' },
    status: 400,
    code: V,
  },
  // --- login ---
  {
    name: 'login: wrong password',
    method: 'POST',
    path: '/api/auth/login',
    body: { email: 'nobody-here@test.pick', password: 'password123' },
    status: 401,
    code: 'INVALID_CREDENTIALS',
  },
  {
    name: 'login: email missing',
    method: 'POST',
    path: '/api/auth/login',
    body: { password: 'password123' },
    status: 400,
    code: V,
  },
  {
    name: 'login: password is an array',
    method: 'POST',
    path: '/api/auth/login',
    body: { email: 'a@test.pick', password: ['x'] },
    status: 400,
    code: V,
  },
  {
    name: 'login: unknown field',
    method: 'POST',
    path: '/api/auth/login',
    body: { email: 'a@test.pick', password: 'password123', remember: true },
    status: 400,
    code: V,
  },
  // --- refresh ---
  {
    name: 'refresh: not a JWT',
    method: 'POST',
    path: '/api/auth/token/refresh',
    body: { refreshToken: 'abc' },
    status: 400,
    code: V,
  },
  {
    name: 'refresh: token is a number',
    method: 'POST',
    path: '/api/auth/token/refresh',
    body: { refreshToken: 12345 },
    status: 400,
    code: V,
  },
  {
    name: 'refresh: forged (wrong secret)',
    method: 'POST',
    path: '/api/auth/token/refresh',
    body: (a: Actors) => ({
      refreshToken: jwt('an-attacker-secret-of-some-length', {
        sub: a.customer.id,
        role: 'CUSTOMER',
        jti: 'x',
        typ: 'refresh',
      }),
    }),
    status: 401,
    code: 'INVALID_TOKEN',
  },
  {
    name: 'refresh: alg none',
    method: 'POST',
    path: '/api/auth/token/refresh',
    body: (a: Actors) => ({
      refreshToken: unsignedJwt({ sub: a.customer.id, role: 'CUSTOMER', jti: 'x', typ: 'refresh' }),
    }),
    status: 401,
    code: 'INVALID_TOKEN',
  },
  {
    name: 'refresh: expired',
    method: 'POST',
    path: '/api/auth/token/refresh',
    body: (a: Actors) => ({
      refreshToken: jwt(a.refreshSecret, {
        sub: a.customer.id,
        role: 'CUSTOMER',
        jti: 'x',
        typ: 'refresh',
        exp: now() - 60,
      }),
    }),
    status: 401,
    code: 'TOKEN_EXPIRED',
  },
  {
    name: 'refresh: access token used as refresh',
    method: 'POST',
    path: '/api/auth/token/refresh',
    body: (a: Actors) => ({ refreshToken: a.customer.accessToken }),
    status: 401,
    code: 'INVALID_TOKEN',
  },
  {
    name: 'refresh: right secret, access type',
    method: 'POST',
    path: '/api/auth/token/refresh',
    body: (a: Actors) => ({
      refreshToken: jwt(a.refreshSecret, { sub: a.customer.id, role: 'CUSTOMER', jti: 'x', typ: 'access' }),
    }),
    status: 401,
    code: 'INVALID_TOKEN',
  },
  {
    name: 'refresh: right secret, HS512',
    method: 'POST',
    path: '/api/auth/token/refresh',
    body: (a: Actors) => ({
      refreshToken: jwt(
        a.refreshSecret,
        { sub: a.customer.id, role: 'CUSTOMER', jti: 'x', typ: 'refresh' },
        { algorithm: 'HS512' },
      ),
    }),
    status: 401,
    code: 'INVALID_TOKEN',
  },
  {
    name: 'refresh: reused (rotated) token',
    method: 'POST',
    path: '/api/auth/token/refresh',
    body: (a: Actors) => ({ refreshToken: a.usedRefresh }),
    status: 401,
    code: 'REFRESH_TOKEN_REVOKED',
  },
  {
    name: 'refresh: unknown jti',
    method: 'POST',
    path: '/api/auth/token/refresh',
    body: (a: Actors) => ({
      refreshToken: jwt(a.refreshSecret, { sub: a.customer.id, role: 'CUSTOMER', jti: 'never-issued', typ: 'refresh' }),
    }),
    status: 401,
    code: 'REFRESH_TOKEN_REVOKED',
  },
  // --- logout and access tokens ---
  {
    name: 'logout: no Authorization header',
    method: 'POST',
    path: '/api/auth/logout',
    body: (a: Actors) => ({ refreshToken: a.customer.refreshToken }),
    status: 401,
    code: 'UNAUTHORIZED',
  },
  {
    name: 'logout: Basic credentials',
    method: 'POST',
    path: '/api/auth/logout',
    body: (a: Actors) => ({ refreshToken: a.customer.refreshToken }),
    headers: () => ({ authorization: 'Basic YWRtaW46YWRtaW4=' }),
    status: 401,
    code: 'UNAUTHORIZED',
  },
  {
    name: 'logout: "Bearer" without a token',
    method: 'POST',
    path: '/api/auth/logout',
    body: (a: Actors) => ({ refreshToken: a.customer.refreshToken }),
    headers: () => ({ authorization: 'Bearer ' }),
    status: 401,
    code: 'UNAUTHORIZED',
  },
  {
    name: 'logout: bearer token of 5000 characters',
    method: 'POST',
    path: '/api/auth/logout',
    body: (a: Actors) => ({ refreshToken: a.customer.refreshToken }),
    token: () => 'a'.repeat(5000),
    status: 401,
    code: 'UNAUTHORIZED',
  },
  {
    name: 'logout: garbage bearer token',
    method: 'POST',
    path: '/api/auth/logout',
    body: (a: Actors) => ({ refreshToken: a.customer.refreshToken }),
    token: () => 'not.a.token-at-all',
    status: 401,
    code: 'INVALID_TOKEN',
  },
  {
    name: 'logout: forged access token',
    method: 'POST',
    path: '/api/auth/logout',
    body: (a: Actors) => ({ refreshToken: a.customer.refreshToken }),
    token: (a) => jwt('an-attacker-secret-of-some-length', { sub: a.customer.id, role: 'ADMIN', typ: 'access' }),
    status: 401,
    code: 'INVALID_TOKEN',
  },
  {
    name: 'logout: expired access token',
    method: 'POST',
    path: '/api/auth/logout',
    body: (a: Actors) => ({ refreshToken: a.customer.refreshToken }),
    token: (a) => jwt(a.accessSecret, { sub: a.customer.id, role: 'CUSTOMER', typ: 'access', exp: now() - 60 }),
    status: 401,
    code: 'TOKEN_EXPIRED',
  },
  {
    name: 'logout: refresh token used as access token',
    method: 'POST',
    path: '/api/auth/logout',
    body: (a: Actors) => ({ refreshToken: a.customer.refreshToken }),
    token: (a) => a.customer.refreshToken,
    status: 401,
    code: 'INVALID_TOKEN',
  },
  {
    name: 'logout: access token with an unknown role',
    method: 'POST',
    path: '/api/auth/logout',
    body: (a: Actors) => ({ refreshToken: a.customer.refreshToken }),
    token: (a) => jwt(a.accessSecret, { sub: a.customer.id, role: 'ROOT', typ: 'access' }),
    status: 401,
    code: 'INVALID_TOKEN',
  },
  {
    name: 'logout: alg none access token',
    method: 'POST',
    path: '/api/auth/logout',
    body: (a: Actors) => ({ refreshToken: a.customer.refreshToken }),
    token: (a) => unsignedJwt({ sub: a.customer.id, role: 'ADMIN', typ: 'access' }),
    status: 401,
    code: 'INVALID_TOKEN',
  },
  {
    name: "logout: someone else's refresh token",
    method: 'POST',
    path: '/api/auth/logout',
    body: (a: Actors) => ({ refreshToken: a.seller.refreshToken }),
    token: (a) => a.customer.accessToken,
    status: 401,
    code: 'INVALID_TOKEN',
  },
  {
    name: 'logout: body missing',
    method: 'POST',
    path: '/api/auth/logout',
    token: (a) => a.customer.accessToken,
    status: 400,
    code: V,
  },
  // --- sessions: replayed, ended, banned and deleted members' tokens ---
  {
    name: 'refresh: the token a replayed family had rotated to',
    method: 'POST',
    path: '/api/auth/token/refresh',
    body: (a: Actors) => ({ refreshToken: a.replayedFamilyRefresh }),
    status: 401,
    code: 'REFRESH_TOKEN_REVOKED',
  },
  {
    name: 'refresh: token of a deleted member',
    method: 'POST',
    path: '/api/auth/token/refresh',
    body: (a: Actors) => ({ refreshToken: a.deleted.refreshToken }),
    status: 401,
    code: 'SESSION_ENDED',
  },
  {
    name: 'access: token of a deleted member',
    method: 'GET',
    path: '/api/members/me/coupons',
    token: (a) => a.deleted.accessToken,
    status: 401,
    code: 'SESSION_ENDED',
  },
  {
    name: 'refresh: token of a banned member',
    method: 'POST',
    path: '/api/auth/token/refresh',
    body: (a: Actors) => ({ refreshToken: a.banned.refreshToken }),
    status: 403,
    code: 'MEMBER_BANNED',
  },
  {
    name: 'claim: token of a banned member',
    method: 'POST',
    path: '/api/events/1/coupons/1/issue',
    token: (a) => a.banned.accessToken,
    status: 403,
    code: 'MEMBER_BANNED',
  },
  {
    name: 'login: banned member, right password',
    method: 'POST',
    path: '/api/auth/login',
    body: (a: Actors) => ({ email: a.banned.email, password: 'password123' }),
    status: 403,
    code: 'MEMBER_BANNED',
  },
  {
    name: 'refresh: token of a demoted seller',
    method: 'POST',
    path: '/api/auth/token/refresh',
    body: (a: Actors) => ({ refreshToken: a.demoted.refreshToken }),
    status: 401,
    code: 'SESSION_ENDED',
  },
  {
    name: 'create: token of a demoted seller',
    method: 'POST',
    path: '/api/seller/products',
    body: validProduct,
    token: (a) => a.demoted.accessToken,
    status: 401,
    code: 'SESSION_ENDED',
  },
  {
    name: 'access: token after logout-all',
    method: 'GET',
    path: '/api/members/me/coupons',
    token: (a) => a.loggedOutAll.accessToken,
    status: 401,
    code: 'SESSION_ENDED',
  },
  {
    name: 'refresh: token after logout-all',
    method: 'POST',
    path: '/api/auth/token/refresh',
    body: (a: Actors) => ({ refreshToken: a.loggedOutAll.refreshToken }),
    status: 401,
    code: 'SESSION_ENDED',
  },
  {
    name: 'access: token of a logged-out session',
    method: 'GET',
    path: '/api/members/me/coupons',
    token: (a) => a.loggedOut.accessToken,
    status: 401,
    code: 'SESSION_ENDED',
  },
  {
    name: 'refresh: right secret, unknown session',
    method: 'POST',
    path: '/api/auth/token/refresh',
    body: (a: Actors) => ({
      refreshToken: jwt(a.refreshSecret, { sub: a.customer.id, jti: 'x', sid: 'never-opened', ver: 0, typ: 'refresh' }),
    }),
    status: 401,
    code: 'REFRESH_TOKEN_REVOKED',
  },
  {
    name: 'refresh: forged, with a session id',
    method: 'POST',
    path: '/api/auth/token/refresh',
    body: (a: Actors) => ({
      refreshToken: jwt('an-attacker-secret-of-some-length', {
        sub: a.customer.id,
        jti: 'x',
        sid: 's',
        ver: 9,
        typ: 'refresh',
      }),
    }),
    status: 401,
    code: 'INVALID_TOKEN',
  },
  {
    name: 'refresh: expired, with a session id',
    method: 'POST',
    path: '/api/auth/token/refresh',
    body: (a: Actors) => ({
      refreshToken: jwt(a.refreshSecret, {
        sub: a.customer.id,
        jti: 'x',
        sid: 's',
        ver: 0,
        typ: 'refresh',
        exp: now() - 1,
      }),
    }),
    status: 401,
    code: 'TOKEN_EXPIRED',
  },
  {
    name: 'refresh: session id of 100 characters',
    method: 'POST',
    path: '/api/auth/token/refresh',
    body: (a: Actors) => ({
      refreshToken: jwt(a.refreshSecret, {
        sub: a.customer.id,
        jti: 'x',
        sid: 's'.repeat(100),
        ver: 0,
        typ: 'refresh',
      }),
    }),
    status: 401,
    code: 'INVALID_TOKEN',
  },
  {
    name: 'refresh: subject not a member id',
    method: 'POST',
    path: '/api/auth/token/refresh',
    body: (a: Actors) => ({
      refreshToken: jwt(a.refreshSecret, { sub: 'admin', jti: 'x', sid: 's', ver: 0, typ: 'refresh' }),
    }),
    status: 401,
    code: 'INVALID_TOKEN',
  },
  {
    name: 'refresh: negative session version',
    method: 'POST',
    path: '/api/auth/token/refresh',
    body: (a: Actors) => ({
      refreshToken: jwt(a.refreshSecret, { sub: a.customer.id, jti: 'x', sid: 's', ver: -1, typ: 'refresh' }),
    }),
    status: 401,
    code: 'INVALID_TOKEN',
  },
  {
    name: 'refresh: subject of a member that never existed',
    method: 'POST',
    path: '/api/auth/token/refresh',
    body: (a: Actors) => ({
      refreshToken: jwt(a.refreshSecret, { sub: '9223372036854775807', jti: 'x', sid: 's', ver: 0, typ: 'refresh' }),
    }),
    status: 401,
    code: 'SESSION_ENDED',
  },
  {
    name: 'access: session version as a string',
    method: 'GET',
    path: '/api/members/me/coupons',
    token: (a) => jwt(a.accessSecret, { sub: a.customer.id, role: 'CUSTOMER', typ: 'access', ver: '1' }),
    status: 401,
    code: 'INVALID_TOKEN',
  },
  {
    name: 'access: session id as a number',
    method: 'GET',
    path: '/api/members/me/coupons',
    token: (a) => jwt(a.accessSecret, { sub: a.customer.id, role: 'CUSTOMER', typ: 'access', ver: 0, sid: 7 }),
    status: 401,
    code: 'INVALID_TOKEN',
  },
  { name: 'logout-all: no token', method: 'POST', path: '/api/auth/logout-all', status: 401, code: 'UNAUTHORIZED' },
  {
    name: 'logout-all: refresh token as bearer',
    method: 'POST',
    path: '/api/auth/logout-all',
    token: (a) => a.customer.refreshToken,
    status: 401,
    code: 'INVALID_TOKEN',
  },
  {
    name: 'logout-all: unknown body field',
    method: 'POST',
    path: '/api/auth/logout-all',
    body: { everywhere: true },
    token: (a) => a.customer.accessToken,
    status: 400,
    code: V,
  },
];

describe('auth: bad input', () => {
  let t: TestApp;
  let a: Actors;

  beforeAll(async () => {
    const { t: app, actors } = await startAppWithActors();
    t = app;
    const adminToken = actors.admin.accessToken;
    const [rotated, banned, deleted, demoted, loggedOutAll, loggedOut, replayed] = await Promise.all([
      t.http.member('CUSTOMER'),
      t.http.member('CUSTOMER'),
      t.http.member('CUSTOMER'),
      t.http.member('SELLER'),
      t.http.member('CUSTOMER'),
      t.http.member('CUSTOMER'),
      t.http.member('CUSTOMER'),
    ]);
    const rotation = await t.http.post('/api/auth/token/refresh', { refreshToken: rotated.refreshToken });
    expect(rotation.status).toBe(200);
    const replayRotation = await t.http.post('/api/auth/token/refresh', { refreshToken: replayed.refreshToken });
    const setup = [
      replayRotation,
      await t.http.post('/api/auth/token/refresh', { refreshToken: replayed.refreshToken }),
      await t.http.post(`/api/admin/members/${banned.id}/ban`, undefined, adminToken),
      await t.http.delete(`/api/admin/members/${deleted.id}`, adminToken),
      await t.http.request('PUT', `/api/admin/members/${demoted.id}/role`, {
        body: { role: 'CUSTOMER' },
        token: adminToken,
      }),
      await t.http.post('/api/auth/logout-all', undefined, loggedOutAll.accessToken),
      await t.http.post('/api/auth/logout', { refreshToken: loggedOut.refreshToken }, loggedOut.accessToken),
    ];
    expect(setup.map((r) => r.status)).toEqual([200, 401, 200, 204, 200, 204, 204]);
    a = {
      ...actors,
      usedRefresh: rotated.refreshToken,
      accessSecret: t.config.JWT_ACCESS_SECRET,
      refreshSecret: t.config.JWT_REFRESH_SECRET,
      banned,
      deleted,
      demoted,
      loggedOutAll,
      loggedOut,
      replayedFamilyRefresh: replayRotation.body.refreshToken,
    };
  });
  afterAll(() => t.close());

  badInputTable(cases, () => ({ http: t.http, actors: a }), 64);

  it("a rejected logout with someone else's token leaves that token working", async () => {
    const rotation = await t.http.post('/api/auth/token/refresh', { refreshToken: a.seller.refreshToken });
    expect(rotation.status).toBe(200);
  });

  it('20 concurrent signups with one email: one 201, the rest 409 EMAIL_TAKEN, none 5xx', async () => {
    const base = validSignup();
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        t.http.post('/api/auth/signup', {
          ...base,
          nickname: `${base.nickname}${i}`,
          phone: `${base.phone.slice(0, -2)}${String(i).padStart(2, '0')}`,
        }),
      ),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    expect(results.filter((r) => r.status === 409 && r.body.code === 'EMAIL_TAKEN')).toHaveLength(19);
  });

  it('10 concurrent refreshes with one token: exactly one rotation succeeds', async () => {
    const member = await t.http.member('CUSTOMER');
    const results = await Promise.all(
      Array.from({ length: 10 }, () => t.http.post('/api/auth/token/refresh', { refreshToken: member.refreshToken })),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status === 401 && r.body.code === 'REFRESH_TOKEN_REVOKED')).toHaveLength(9);
  });

  it('login takes about as long for an unknown email as for a wrong password (no account probing by timing)', async () => {
    const member = await t.http.member('CUSTOMER');
    const time = async (email: string) => {
      const started = performance.now();
      const result = await t.http.post('/api/auth/login', { email, password: 'wrong-password' });
      expect(result.body.code).toBe('INVALID_CREDENTIALS');
      return performance.now() - started;
    };
    const median = (values: number[]) => values.sort((x, y) => x - y)[Math.floor(values.length / 2)];
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 7; i++) {
      known.push(await time(member.email));
      unknown.push(await time(`nobody-${i}@test.pick`));
    }
    console.log(
      `login median: wrong password ${median(known).toFixed(1)} ms, unknown email ${median(unknown).toFixed(1)} ms`,
    );
    // The hash verification dominates both (argon2, ~10+ ms); a skipped one would be several times faster.
    expect(median(unknown)).toBeGreaterThan(median(known) * 0.5);
  });

  it('accepts the auth scheme in any case (RFC 7235)', async () => {
    const member = await t.http.member('CUSTOMER');
    const out = await t.http.request('POST', '/api/auth/logout', {
      body: { refreshToken: member.refreshToken },
      headers: { authorization: `bearer ${member.accessToken}` },
    });
    expect(out.status).toBe(204);
  });
});
