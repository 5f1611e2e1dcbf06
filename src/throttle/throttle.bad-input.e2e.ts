import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { startAppWithActors, type RoleActors, type TestMember } from '../testing/actors.js';
import type { TestApp } from '../testing/app.js';
import { badInputTable, type BadInputCase } from '../testing/bad-input.js';
import { createProduct, validProduct } from '../testing/fixtures.js';
import { throttleKeyPrefix, type LimitName } from './limits.js';

/**
 * Members (and an email) past their rate limits, on every throttled route: 429 TOO_MANY_REQUESTS with
 * Retry-After whatever else they send (an unknown coupon, malformed ids, an invalid body), before any
 * other check; a member within its limit is not throttled by another one past it. Table-driven: one row
 * per case (src/testing/bad-input.ts). The limits themselves, under load and with Redis down: throttle.e2e.ts.
 */

interface Actors extends RoleActors {
  /** Members (and an email) past their rate limits (src/throttle): 429 whatever else they send. */
  throttled: { email: string; customer: TestMember; seller: TestMember; productId: string };
}

const cases: BadInputCase<Actors>[] = [
  // --- past a limit the answer is 429 with Retry-After, before any other check ---
  {
    name: 'login: wrong password, email past its failed-login limit',
    method: 'POST',
    path: '/api/auth/login',
    body: (a: Actors) => ({ email: a.throttled.email, password: 'wrong-again' }),
    status: 429,
    code: 'TOO_MANY_REQUESTS',
  },
  {
    name: 'login: right password, email past its failed-login limit',
    method: 'POST',
    path: '/api/auth/login',
    body: (a: Actors) => ({ email: a.throttled.email, password: 'password123' }),
    status: 429,
    code: 'TOO_MANY_REQUESTS',
  },
  {
    name: 'login: the throttled email in upper case',
    method: 'POST',
    path: '/api/auth/login',
    body: (a: Actors) => ({ email: a.throttled.email.toUpperCase(), password: 'password123' }),
    status: 429,
    code: 'TOO_MANY_REQUESTS',
  },
  {
    name: 'claim: member past its claim limit',
    method: 'POST',
    path: '/api/events/1/coupons/1/issue',
    token: (a) => a.throttled.customer.accessToken,
    status: 429,
    code: 'TOO_MANY_REQUESTS',
  },
  {
    name: 'claim: member past its claim limit, unknown coupon',
    method: 'POST',
    path: '/api/events/9223372036854775807/coupons/9223372036854775807/issue',
    token: (a) => a.throttled.customer.accessToken,
    status: 429,
    code: 'TOO_MANY_REQUESTS',
  },
  {
    name: 'claim: member past its claim limit, malformed ids',
    method: 'POST',
    path: '/api/events/x/coupons/-1/issue',
    token: (a) => a.throttled.customer.accessToken,
    status: 429,
    code: 'TOO_MANY_REQUESTS',
  },
  {
    name: 'create: seller past its write limit',
    method: 'POST',
    path: '/api/seller/products',
    body: validProduct,
    token: (a) => a.throttled.seller.accessToken,
    status: 429,
    code: 'TOO_MANY_REQUESTS',
  },
  {
    name: 'create: seller past its write limit, invalid body',
    method: 'POST',
    path: '/api/seller/products',
    body: { ...validProduct, price: -1 },
    token: (a) => a.throttled.seller.accessToken,
    status: 429,
    code: 'TOO_MANY_REQUESTS',
  },
  {
    name: 'update: seller past its write limit',
    method: 'PATCH',
    path: (a) => `/api/seller/products/${a.throttled.productId}`,
    body: { price: 2000 },
    token: (a) => a.throttled.seller.accessToken,
    status: 429,
    code: 'TOO_MANY_REQUESTS',
  },
  {
    name: 'delete: seller past its write limit',
    method: 'DELETE',
    path: (a) => `/api/seller/products/${a.throttled.productId}`,
    token: (a) => a.throttled.seller.accessToken,
    status: 429,
    code: 'TOO_MANY_REQUESTS',
  },
  {
    name: 'upload: seller past its upload limit',
    method: 'POST',
    path: '/api/seller/products/images',
    raw: '--x\r\nContent-Disposition: form-data; name="files"; filename="a.png"\r\nContent-Type: image/png\r\n\r\nnot really\r\n--x--\r\n',
    contentType: 'multipart/form-data; boundary=x',
    token: (a) => a.throttled.seller.accessToken,
    status: 429,
    code: 'TOO_MANY_REQUESTS',
  },
  {
    name: 'claim: a customer within its limit is not throttled by another one past it',
    method: 'POST',
    path: '/api/events/9223372036854775807/coupons/9223372036854775807/issue',
    token: (a) => a.customer.accessToken,
    status: 404,
    code: 'COUPON_NOT_FOUND',
  },
];

/**
 * Members past their limits: the email by real failed logins (the login limit counts them), the
 * per-member counters set in Redis as the limiter keeps them (their windows are seconds long, the
 * table may take longer than that to reach these rows).
 */
async function throttledActors(t: TestApp): Promise<Actors['throttled']> {
  const [customer, seller] = await Promise.all([t.http.member('CUSTOMER'), t.http.member('SELLER')]);
  const productId = await createProduct(t.http, seller.accessToken);
  const failures = [];
  for (let n = 0; n < t.config.THROTTLE_LOGIN_EMAIL_LIMIT; n++)
    failures.push((await t.http.post('/api/auth/login', { email: customer.email, password: 'wrong' })).status);
  expect(failures.every((status) => status === 401)).toBe(true);
  const redis = t.app.get(Redis);
  const used = (limit: LimitName, key: string) =>
    redis.set(`${throttleKeyPrefix(t.config.REDIS_PREFIX, limit)}:${key}`, 1_000_000, 'EX', 600);
  await Promise.all([used('claim', customer.id), used('productWrite', seller.id), used('upload', seller.id)]);
  return { email: customer.email, customer, seller, productId };
}

describe('throttled routes: bad input', () => {
  let t: TestApp;
  let a: Actors;

  beforeAll(async () => {
    const { t: app, actors } = await startAppWithActors();
    t = app;
    a = { ...actors, throttled: await throttledActors(t) };
  });
  afterAll(() => t.close());

  badInputTable(cases, () => ({ http: t.http, actors: a }), 12);
});
