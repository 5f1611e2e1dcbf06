import { JwtService } from '@nestjs/jwt';
import { Redis } from 'ioredis';
import { EntityManager } from '@mikro-orm/mysql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Member, MemberRole } from '../members/member.entity.js';
import { testAdminToken } from '../testing/admin.js';
import { createEvent, eventBody } from '../testing/fixtures.js';
import { startTestApp, type TestApp } from '../testing/app.js';
import { badInputTable, V, type BadInputCase } from '../testing/bad-input.js';
import { throttleKeyPrefix, type LimitName } from '../throttle/throttle.service.js';

/**
 * Malformed requests against every current endpoint: each must get the exact 4xx and stable
 * code, never a 5xx, and every error body has the same shape. Table-driven: one row per case
 * (src/testing/bad-input.ts).
 */

interface Actors {
  customer: { id: string; accessToken: string; refreshToken: string };
  seller: { id: string; accessToken: string; refreshToken: string };
  otherSeller: { id: string; accessToken: string; refreshToken: string };
  usedRefresh: string;
  productId: string;
  othersProductId: string;
  /** An event the admin created (PATCH /api/admin/events/{id}). */
  eventId: string;
  accessSecret: string;
  refreshSecret: string;
  admin: { id: string; accessToken: string };
  pendingSeller: Tokens;
  rejectedSeller: Tokens;
  banned: Tokens & { email: string };
  deleted: Tokens;
  demoted: Tokens;
  loggedOutAll: Tokens;
  loggedOut: Tokens;
  /** The token a replay's family had rotated to (the family is revoked). */
  replayedFamilyRefresh: string;
  /** Members (and an email) past their rate limits (src/throttle): 429 whatever else they send. */
  throttled: { email: string; customer: Tokens; seller: Tokens; productId: string };
}

interface Tokens {
  id: string;
  accessToken: string;
  refreshToken: string;
}

type Case = BadInputCase<Actors>;

const validSignup = () => {
  const tag = Math.random().toString(36).slice(2, 10);
  return {
    email: `bad-${tag}@test.pick`,
    password: 'password123',
    name: 'Bad Input',
    nickname: `b${tag}`,
    phone: `010-${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`,
    address: 'Seoul',
    role: 'CUSTOMER',
  };
};
const validProduct = {
  name: 'Shirt',
  price: 1000,
  description: 'cotton',
  stock: 5,
  category: 'TOP',
  status: 'IN_STOCK',
};
const CDN = 'http://127.0.0.1:4568/pick-local';

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

const cases: Case[] = [
  // --- body parsing, shapes and content types (signup) ---
  {
    name: 'signup: truncated JSON',
    method: 'POST',
    path: '/api/auth/signup',
    raw: '{"email": "a@b.c", ',
    contentType: 'application/json',
    status: 400,
    code: 'INVALID_JSON',
  },
  {
    name: 'signup: single-quoted JSON',
    method: 'POST',
    path: '/api/auth/signup',
    raw: "{'email': 'a@b.c'}",
    contentType: 'application/json',
    status: 400,
    code: 'INVALID_JSON',
  },
  {
    name: 'signup: empty body with JSON content type',
    method: 'POST',
    path: '/api/auth/signup',
    raw: '',
    contentType: 'application/json',
    status: 400,
    code: 'INVALID_JSON',
  },
  {
    name: 'signup: gzip-encoded body',
    method: 'POST',
    path: '/api/auth/signup',
    body: validSignup,
    headers: () => ({ 'content-encoding': 'gzip' }),
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
  },
  { name: 'signup: no body at all', method: 'POST', path: '/api/auth/signup', status: 400, code: V },
  {
    name: 'signup: body is an array',
    method: 'POST',
    path: '/api/auth/signup',
    body: [validSignup()],
    status: 400,
    code: V,
  },
  { name: 'signup: body is a string', method: 'POST', path: '/api/auth/signup', body: 'hello', status: 400, code: V },
  {
    name: 'signup: body is null',
    method: 'POST',
    path: '/api/auth/signup',
    raw: 'null',
    contentType: 'application/json',
    status: 400,
    code: V,
  },
  {
    name: 'signup: body is a number',
    method: 'POST',
    path: '/api/auth/signup',
    raw: '42',
    contentType: 'application/json',
    status: 400,
    code: V,
  },
  {
    name: 'signup: text/plain body',
    method: 'POST',
    path: '/api/auth/signup',
    raw: JSON.stringify(validSignup()),
    contentType: 'text/plain',
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
  },
  {
    name: 'signup: XML content type',
    method: 'POST',
    path: '/api/auth/signup',
    raw: '<member/>',
    contentType: 'application/xml',
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
  },
  {
    name: 'signup: form-encoded body',
    method: 'POST',
    path: '/api/auth/signup',
    raw: 'email=a%40b.c&password=x',
    contentType: 'application/x-www-form-urlencoded',
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
  },
  {
    name: 'signup: __proto__ key',
    method: 'POST',
    path: '/api/auth/signup',
    raw: `{"__proto__": {"role": "ADMIN"}, ${JSON.stringify(validSignup()).slice(1)}`,
    contentType: 'application/json',
    status: 400,
    code: 'INVALID_JSON',
  },
  {
    name: 'signup: constructor.prototype key',
    method: 'POST',
    path: '/api/auth/signup',
    raw: `{"constructor": {"prototype": {"role": "ADMIN"}}, ${JSON.stringify(validSignup()).slice(1)}`,
    contentType: 'application/json',
    status: 400,
    code: 'INVALID_JSON',
  },
  {
    name: 'signup: body over the size limit',
    method: 'POST',
    path: '/api/auth/signup',
    raw: JSON.stringify({ ...validSignup(), address: 'x'.repeat(1_100_000) }),
    contentType: 'application/json',
    status: 413,
    code: 'PAYLOAD_TOO_LARGE',
  },
  {
    name: 'signup: 100k-deep nested arrays',
    method: 'POST',
    path: '/api/auth/signup',
    raw: `{"email": ${'['.repeat(100_000)}${']'.repeat(100_000)}}`,
    contentType: 'application/json',
    status: 400,
    code: V,
  },
  {
    name: 'signup: 10k-deep nested objects',
    method: 'POST',
    path: '/api/auth/signup',
    raw: `{"address": ${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}`,
    contentType: 'application/json',
    status: 400,
    code: V,
  },
  // --- signup fields ---
  {
    name: 'signup: lone surrogate in address',
    method: 'POST',
    path: '/api/auth/signup',
    raw: () => JSON.stringify({ ...validSignup(), address: 'Seoul' }).replace('"Seoul"', '"Seoul \\ud800"'),
    contentType: 'application/json',
    status: 400,
    code: V,
  },
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
  // --- product list: cursors and filters ---
  { name: 'list: unknown sort', method: 'GET', path: '/api/general/products?sort=CHEAPEST', status: 400, code: V },
  { name: 'list: lower-case sort', method: 'GET', path: '/api/general/products?sort=new', status: 400, code: V },
  { name: 'list: unknown category', method: 'GET', path: '/api/general/products?category=HATS', status: 400, code: V },
  { name: 'list: lastId=abc', method: 'GET', path: '/api/general/products?lastId=abc', status: 400, code: V },
  { name: 'list: lastId=-1', method: 'GET', path: '/api/general/products?lastId=-1', status: 400, code: V },
  { name: 'list: lastId=0', method: 'GET', path: '/api/general/products?lastId=0', status: 400, code: V },
  {
    name: 'list: lastId 30 digits',
    method: 'GET',
    path: `/api/general/products?lastId=${'9'.repeat(30)}`,
    status: 400,
    code: V,
  },
  {
    name: 'list: lastId beyond BIGINT UNSIGNED',
    method: 'GET',
    path: '/api/general/products?lastId=99999999999999999999',
    status: 400,
    code: V,
  },
  { name: 'list: lastId fractional', method: 'GET', path: '/api/general/products?lastId=1.5', status: 400, code: V },
  {
    name: 'list: lastPrice without lastId',
    method: 'GET',
    path: '/api/general/products?sort=LOW_PRICE&lastPrice=100',
    status: 400,
    code: 'INVALID_CURSOR',
  },
  {
    name: 'list: price sort with lastId but no lastPrice',
    method: 'GET',
    path: '/api/general/products?sort=HIGH_PRICE&lastId=5',
    status: 400,
    code: 'INVALID_CURSOR',
  },
  {
    name: 'list: lastPrice negative',
    method: 'GET',
    path: '/api/general/products?sort=LOW_PRICE&lastId=5&lastPrice=-1',
    status: 400,
    code: V,
  },
  {
    name: 'list: lastPrice fractional',
    method: 'GET',
    path: '/api/general/products?sort=LOW_PRICE&lastId=5&lastPrice=1.5',
    status: 400,
    code: V,
  },
  {
    name: 'list: lastPrice huge',
    method: 'GET',
    path: '/api/general/products?sort=LOW_PRICE&lastId=5&lastPrice=99999999999999',
    status: 400,
    code: V,
  },
  {
    name: 'list: lastPrice exponent',
    method: 'GET',
    path: '/api/general/products?sort=LOW_PRICE&lastId=5&lastPrice=1e3',
    status: 400,
    code: V,
  },
  {
    name: 'list: repeated sort',
    method: 'GET',
    path: '/api/general/products?sort=NEW&sort=LOW_PRICE',
    status: 400,
    code: V,
  },
  {
    name: 'list: repeated lastId',
    method: 'GET',
    path: '/api/general/products?lastId=5&lastId=6',
    status: 400,
    code: V,
  },
  { name: 'list: unknown query parameter', method: 'GET', path: '/api/general/products?page=2', status: 400, code: V },
  {
    name: 'list: bracket query parameter',
    method: 'GET',
    path: '/api/general/products?sort[]=NEW',
    status: 400,
    code: V,
  },
  { name: 'list: empty lastId', method: 'GET', path: '/api/general/products?lastId=', status: 400, code: V },
  // --- product detail path ids ---
  { name: 'detail: id abc', method: 'GET', path: '/api/general/products/abc', status: 400, code: V },
  { name: 'detail: id 0', method: 'GET', path: '/api/general/products/0', status: 400, code: V },
  { name: 'detail: id -1', method: 'GET', path: '/api/general/products/-1', status: 400, code: V },
  {
    name: 'detail: id 30 digits',
    method: 'GET',
    path: `/api/general/products/${'1'.repeat(30)}`,
    status: 400,
    code: V,
  },
  {
    name: 'detail: id beyond BIGINT UNSIGNED',
    method: 'GET',
    path: '/api/general/products/99999999999999999999',
    status: 400,
    code: V,
  },
  { name: 'detail: id with a NUL byte', method: 'GET', path: '/api/general/products/1%00', status: 400, code: V },
  {
    name: 'detail: path with broken percent-encoding',
    method: 'GET',
    path: '/api/general/products/%',
    status: 400,
    code: 'BAD_REQUEST',
  },
  {
    name: 'detail: path parameter of 5,000 characters',
    method: 'GET',
    path: `/api/general/products/${'9'.repeat(5000)}`,
    status: 414,
    code: 'URI_TOO_LONG',
  },
  {
    name: 'detail: id that does not exist',
    method: 'GET',
    path: '/api/general/products/9223372036854775807',
    status: 404,
    code: 'PRODUCT_NOT_FOUND',
  },
  { name: 'unknown route', method: 'GET', path: '/api/general/nothing-here', status: 404, code: 'NOT_FOUND' },
  {
    name: 'unsupported method on a route',
    method: 'PUT',
    path: '/api/general/products',
    body: {},
    status: 404,
    code: 'NOT_FOUND',
  },
  // --- seller writes ---
  {
    name: 'create: no token',
    method: 'POST',
    path: '/api/seller/products',
    body: validProduct,
    status: 401,
    code: 'UNAUTHORIZED',
  },
  {
    name: 'create: customer',
    method: 'POST',
    path: '/api/seller/products',
    body: validProduct,
    token: (a) => a.customer.accessToken,
    status: 403,
    code: 'FORBIDDEN',
  },
  {
    name: 'create: negative price',
    method: 'POST',
    path: '/api/seller/products',
    body: { ...validProduct, price: -1 },
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'create: fractional price',
    method: 'POST',
    path: '/api/seller/products',
    body: { ...validProduct, price: 10.5 },
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'create: NUL in the name',
    method: 'POST',
    path: '/api/seller/products',
    body: { ...validProduct, name: 'Shirt\u0000' },
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'create: line break in the name',
    method: 'POST',
    path: '/api/seller/products',
    body: { ...validProduct, name: 'Shirt\nSale' },
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'create: bell character in the description',
    method: 'POST',
    path: '/api/seller/products',
    body: { ...validProduct, description: 'soft\u0007' },
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'create: huge price',
    method: 'POST',
    path: '/api/seller/products',
    body: { ...validProduct, price: 1e15 },
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'create: price overflowing to Infinity',
    method: 'POST',
    path: '/api/seller/products',
    raw: JSON.stringify(validProduct).replace('"price":1000', '"price":1e400'),
    contentType: 'application/json',
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'create: price as a string',
    method: 'POST',
    path: '/api/seller/products',
    body: { ...validProduct, price: '1000' },
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'create: stock as boolean',
    method: 'POST',
    path: '/api/seller/products',
    body: { ...validProduct, stock: true },
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'create: negative stock',
    method: 'POST',
    path: '/api/seller/products',
    body: { ...validProduct, stock: -3 },
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'create: bad category',
    method: 'POST',
    path: '/api/seller/products',
    body: { ...validProduct, category: 'HATS' },
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'create: bad status',
    method: 'POST',
    path: '/api/seller/products',
    body: { ...validProduct, status: 'GONE' },
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'create: name overlong',
    method: 'POST',
    path: '/api/seller/products',
    body: { ...validProduct, name: 'n'.repeat(101) },
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'create: name blank',
    method: 'POST',
    path: '/api/seller/products',
    body: { ...validProduct, name: '  ' },
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'create: lone surrogate in name',
    method: 'POST',
    path: '/api/seller/products',
    raw: JSON.stringify(validProduct).replace('"Shirt"', '"Shirt \\udfff"'),
    contentType: 'application/json',
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'create: lone surrogate in description',
    method: 'POST',
    path: '/api/seller/products',
    raw: JSON.stringify(validProduct).replace('"cotton"', '"\\ud83dcotton"'),
    contentType: 'application/json',
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'create: description overlong',
    method: 'POST',
    path: '/api/seller/products',
    body: { ...validProduct, description: 'd'.repeat(5001) },
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'create: field missing',
    method: 'POST',
    path: '/api/seller/products',
    body: { ...validProduct, category: undefined },
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'create: unknown field',
    method: 'POST',
    path: '/api/seller/products',
    body: { ...validProduct, sellerId: '1' },
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'create: null name',
    method: 'POST',
    path: '/api/seller/products',
    body: { ...validProduct, name: null },
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'create: images not an array',
    method: 'POST',
    path: '/api/seller/products',
    body: { ...validProduct, images: 'x.jpg' },
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'create: images of strings',
    method: 'POST',
    path: '/api/seller/products',
    body: { ...validProduct, images: ['x.jpg'] },
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'create: images null',
    method: 'POST',
    path: '/api/seller/products',
    body: { ...validProduct, images: null },
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'create: images of nulls',
    method: 'POST',
    path: '/api/seller/products',
    body: { ...validProduct, images: [null] },
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'create: too many images',
    method: 'POST',
    path: '/api/seller/products',
    body: {
      ...validProduct,
      images: Array.from({ length: 11 }, (_, i) => ({ url: `${CDN}/product/a${i}.jpg`, type: 'DETAIL' })),
    },
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'create: image URL from elsewhere',
    method: 'POST',
    path: '/api/seller/products',
    body: { ...validProduct, images: [{ url: 'https://evil.example/x.jpg', type: 'MAIN' }] },
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'create: image path traversal',
    method: 'POST',
    path: '/api/seller/products',
    body: { ...validProduct, images: [{ url: `${CDN}/product/../secret.jpg`, type: 'MAIN' }] },
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'create: two MAIN images',
    method: 'POST',
    path: '/api/seller/products',
    body: {
      ...validProduct,
      images: [
        { url: `${CDN}/product/a.jpg`, type: 'MAIN' },
        { url: `${CDN}/product/b.jpg`, type: 'MAIN' },
      ],
    },
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'create: image with unknown field',
    method: 'POST',
    path: '/api/seller/products',
    body: { ...validProduct, images: [{ url: `${CDN}/product/a.jpg`, type: 'MAIN', position: 3 }] },
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'create: image with bad type',
    method: 'POST',
    path: '/api/seller/products',
    body: { ...validProduct, images: [{ url: `${CDN}/product/a.jpg`, type: 'THUMB' }] },
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'create: body is an array',
    method: 'POST',
    path: '/api/seller/products',
    body: [validProduct],
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'update: null name',
    method: 'PATCH',
    path: (a) => `/api/seller/products/${a.productId}`,
    body: { name: null },
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'update: null price',
    method: 'PATCH',
    path: (a) => `/api/seller/products/${a.productId}`,
    body: { price: null },
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'update: null images',
    method: 'PATCH',
    path: (a) => `/api/seller/products/${a.productId}`,
    body: { images: null },
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'update: wrong type',
    method: 'PATCH',
    path: (a) => `/api/seller/products/${a.productId}`,
    body: { stock: '7' },
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'update: unknown field',
    method: 'PATCH',
    path: (a) => `/api/seller/products/${a.productId}`,
    body: { id: '1' },
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'update: bad id',
    method: 'PATCH',
    path: '/api/seller/products/abc',
    body: { price: 5 },
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'update: missing product',
    method: 'PATCH',
    path: '/api/seller/products/9223372036854775807',
    body: { price: 5 },
    token: (a) => a.seller.accessToken,
    status: 404,
    code: 'PRODUCT_NOT_FOUND',
  },
  {
    name: "update: another seller's product",
    method: 'PATCH',
    path: (a) => `/api/seller/products/${a.othersProductId}`,
    body: { price: 5 },
    token: (a) => a.seller.accessToken,
    status: 403,
    code: 'FORBIDDEN',
  },
  {
    name: 'update: customer',
    method: 'PATCH',
    path: (a) => `/api/seller/products/${a.productId}`,
    body: { price: 5 },
    token: (a) => a.customer.accessToken,
    status: 403,
    code: 'FORBIDDEN',
  },
  {
    name: 'delete: bad id',
    method: 'DELETE',
    path: '/api/seller/products/1e5',
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: "delete: another seller's product",
    method: 'DELETE',
    path: (a) => `/api/seller/products/${a.othersProductId}`,
    token: (a) => a.seller.accessToken,
    status: 403,
    code: 'FORBIDDEN',
  },
  {
    name: 'delete: no token',
    method: 'DELETE',
    path: (a) => `/api/seller/products/${a.productId}`,
    status: 401,
    code: 'UNAUTHORIZED',
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
  // --- sellers pending approval ---
  {
    name: 'create: pending seller',
    method: 'POST',
    path: '/api/seller/products',
    body: validProduct,
    token: (a) => a.pendingSeller.accessToken,
    status: 403,
    code: 'SELLER_NOT_APPROVED',
  },
  {
    name: 'create: rejected seller',
    method: 'POST',
    path: '/api/seller/products',
    body: validProduct,
    token: (a) => a.rejectedSeller.accessToken,
    status: 403,
    code: 'SELLER_NOT_APPROVED',
  },
  {
    name: 'update: pending seller',
    method: 'PATCH',
    path: (a) => `/api/seller/products/${a.productId}`,
    body: { price: 5 },
    token: (a) => a.pendingSeller.accessToken,
    status: 403,
    code: 'SELLER_NOT_APPROVED',
  },
  {
    name: 'upload: pending seller',
    method: 'POST',
    path: '/api/seller/products/images',
    raw: '--x\r\nContent-Disposition: form-data; name="files"; filename="a.png"\r\nContent-Type: image/png\r\n\r\nx\r\n--x--\r\n',
    contentType: 'multipart/form-data; boundary=x',
    token: (a) => a.pendingSeller.accessToken,
    status: 403,
    code: 'SELLER_NOT_APPROVED',
  },
  // --- admin: sellers and members ---
  { name: 'admin sellers: no token', method: 'GET', path: '/api/admin/sellers', status: 401, code: 'UNAUTHORIZED' },
  {
    name: 'admin sellers: customer',
    method: 'GET',
    path: '/api/admin/sellers',
    token: (a) => a.customer.accessToken,
    status: 403,
    code: 'FORBIDDEN',
  },
  {
    name: 'admin sellers: seller',
    method: 'GET',
    path: '/api/admin/sellers',
    token: (a) => a.seller.accessToken,
    status: 403,
    code: 'FORBIDDEN',
  },
  {
    name: 'admin sellers: unknown status',
    method: 'GET',
    path: '/api/admin/sellers?status=WAITING',
    token: (a) => a.admin.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'admin sellers: lower-case status',
    method: 'GET',
    path: '/api/admin/sellers?status=pending',
    token: (a) => a.admin.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'admin sellers: repeated status',
    method: 'GET',
    path: '/api/admin/sellers?status=PENDING&status=APPROVED',
    token: (a) => a.admin.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'admin sellers: lastId=abc',
    method: 'GET',
    path: '/api/admin/sellers?lastId=abc',
    token: (a) => a.admin.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'admin sellers: unknown query parameter',
    method: 'GET',
    path: '/api/admin/sellers?page=2',
    token: (a) => a.admin.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'approve: id abc',
    method: 'POST',
    path: '/api/admin/sellers/abc/approve',
    token: (a) => a.admin.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'approve: id 0',
    method: 'POST',
    path: '/api/admin/sellers/0/approve',
    token: (a) => a.admin.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'approve: id beyond BIGINT UNSIGNED',
    method: 'POST',
    path: '/api/admin/sellers/99999999999999999999/approve',
    token: (a) => a.admin.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'approve: unknown member',
    method: 'POST',
    path: '/api/admin/sellers/9223372036854775807/approve',
    token: (a) => a.admin.accessToken,
    status: 404,
    code: 'MEMBER_NOT_FOUND',
  },
  {
    name: 'approve: a customer',
    method: 'POST',
    path: (a) => `/api/admin/sellers/${a.customer.id}/approve`,
    token: (a) => a.admin.accessToken,
    status: 409,
    code: 'MEMBER_NOT_SELLER',
  },
  {
    name: 'approve: unknown body field',
    method: 'POST',
    path: (a) => `/api/admin/sellers/${a.pendingSeller.id}/approve`,
    body: { note: 'ok' },
    token: (a) => a.admin.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'approve: by a seller',
    method: 'POST',
    path: (a) => `/api/admin/sellers/${a.pendingSeller.id}/approve`,
    token: (a) => a.seller.accessToken,
    status: 403,
    code: 'FORBIDDEN',
  },
  {
    name: 'reject: unknown member',
    method: 'POST',
    path: '/api/admin/sellers/9223372036854775807/reject',
    token: (a) => a.admin.accessToken,
    status: 404,
    code: 'MEMBER_NOT_FOUND',
  },
  {
    name: 'ban: unknown member',
    method: 'POST',
    path: '/api/admin/members/9223372036854775807/ban',
    token: (a) => a.admin.accessToken,
    status: 404,
    code: 'MEMBER_NOT_FOUND',
  },
  {
    name: 'ban: the acting admin',
    method: 'POST',
    path: (a) => `/api/admin/members/${a.admin.id}/ban`,
    token: (a) => a.admin.accessToken,
    status: 409,
    code: 'CANNOT_TARGET_SELF',
  },
  {
    name: 'ban: id -1',
    method: 'POST',
    path: '/api/admin/members/-1/ban',
    token: (a) => a.admin.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'ban: body is an array',
    method: 'POST',
    path: (a) => `/api/admin/members/${a.customer.id}/ban`,
    body: [],
    token: (a) => a.admin.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'ban: by a customer',
    method: 'POST',
    path: (a) => `/api/admin/members/${a.seller.id}/ban`,
    token: (a) => a.customer.accessToken,
    status: 403,
    code: 'FORBIDDEN',
  },
  {
    name: 'unban: id 1.5',
    method: 'POST',
    path: '/api/admin/members/1.5/unban',
    token: (a) => a.admin.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'unban: a deleted member',
    method: 'POST',
    path: (a) => `/api/admin/members/${a.deleted.id}/unban`,
    token: (a) => a.admin.accessToken,
    status: 404,
    code: 'MEMBER_NOT_FOUND',
  },
  {
    name: 'role: ROOT',
    method: 'PUT',
    path: (a) => `/api/admin/members/${a.customer.id}/role`,
    body: { role: 'ROOT' },
    token: (a) => a.admin.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'role: missing',
    method: 'PUT',
    path: (a) => `/api/admin/members/${a.customer.id}/role`,
    body: {},
    token: (a) => a.admin.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'role: unknown field',
    method: 'PUT',
    path: (a) => `/api/admin/members/${a.customer.id}/role`,
    body: { role: 'SELLER', approved: true },
    token: (a) => a.admin.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'role: unknown member',
    method: 'PUT',
    path: '/api/admin/members/9223372036854775807/role',
    body: { role: 'SELLER' },
    token: (a) => a.admin.accessToken,
    status: 404,
    code: 'MEMBER_NOT_FOUND',
  },
  {
    name: 'role: the acting admin',
    method: 'PUT',
    path: (a) => `/api/admin/members/${a.admin.id}/role`,
    body: { role: 'CUSTOMER' },
    token: (a) => a.admin.accessToken,
    status: 409,
    code: 'CANNOT_TARGET_SELF',
  },
  {
    name: 'delete member: unknown',
    method: 'DELETE',
    path: '/api/admin/members/9223372036854775807',
    token: (a) => a.admin.accessToken,
    status: 404,
    code: 'MEMBER_NOT_FOUND',
  },
  {
    name: 'delete member: id with letters',
    method: 'DELETE',
    path: '/api/admin/members/12ab',
    token: (a) => a.admin.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'get member: deleted',
    method: 'GET',
    path: (a) => `/api/admin/members/${a.deleted.id}`,
    token: (a) => a.admin.accessToken,
    status: 404,
    code: 'MEMBER_NOT_FOUND',
  },

  // --- rate limits (src/throttle): past a limit the answer is 429 with Retry-After, before any other check ---
  // --- one rule for bodies, nested lists, strings, content types and queries (issue 25) ---
  {
    name: 'create: images nested in a list',
    method: 'POST',
    path: '/api/seller/products',
    body: { ...validProduct, images: [[]] },
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'create: an image nested in a list',
    method: 'POST',
    path: '/api/seller/products',
    body: {
      ...validProduct,
      images: [[{ url: `${CDN}/product/0b6f4c1e-3d5a-4f0e-9a51-2c7d8e9f0a1b.png`, type: 'MAIN' }]],
    },
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'update: images nested in a list',
    method: 'PATCH',
    path: (a) => `/api/seller/products/${a.productId}`,
    body: { images: [[]] },
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'create event: coupons nested in a list',
    method: 'POST',
    path: '/api/admin/events',
    body: () => ({ ...eventBody(), coupons: [[]] }),
    token: (a) => a.admin.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'create event: a valid coupon nested in a list',
    method: 'POST',
    path: '/api/admin/events',
    body: () => ({ ...eventBody(), coupons: [eventBody().coupons] }),
    token: (a) => a.admin.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'update event: coupons nested in a list',
    method: 'PATCH',
    path: (a) => `/api/admin/events/${a.eventId}`,
    body: { coupons: [[]] },
    token: (a) => a.admin.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'signup: lone surrogate as the email',
    method: 'POST',
    path: '/api/auth/signup',
    raw: () => JSON.stringify({ ...validSignup(), email: 'x' }).replace('"x"', '"\\ud800"'),
    status: 400,
    code: V,
  },
  {
    name: 'login: lone surrogate as the email',
    method: 'POST',
    path: '/api/auth/login',
    raw: '{"email": "\\ud800", "password": "password123"}',
    status: 400,
    code: V,
  },
  {
    name: 'login: lone low surrogate in the password',
    method: 'POST',
    path: '/api/auth/login',
    raw: '{"email": "a@test.pick", "password": "password\\udc00"}',
    status: 400,
    code: V,
  },
  {
    name: 'signup: lone surrogate in a field name',
    method: 'POST',
    path: '/api/auth/signup',
    raw: () => `{"\\ud800": 1, ${JSON.stringify(validSignup()).slice(1)}`,
    status: 400,
    code: V,
  },
  {
    name: 'update event: lone surrogate in a nested coupon name',
    method: 'PATCH',
    path: (a) => `/api/admin/events/${a.eventId}`,
    raw: '{"coupons": [{"id": "1", "name": "a\\udbff"}]}',
    token: (a) => a.admin.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'signup: constructor key (dropped silently before)',
    method: 'POST',
    path: '/api/auth/signup',
    raw: () => `{"constructor": 1, ${JSON.stringify(validSignup()).slice(1)}`,
    status: 400,
    code: V,
  },
  {
    name: 'signup: prototype key (dropped silently before)',
    method: 'POST',
    path: '/api/auth/signup',
    raw: () => `{"prototype": [{}], ${JSON.stringify(validSignup()).slice(1)}`,
    status: 400,
    code: V,
  },
  {
    name: 'signup: constructor key spelled with an escape',
    method: 'POST',
    path: '/api/auth/signup',
    raw: () => `{"constr\\u0075ctor": 1, ${JSON.stringify(validSignup()).slice(1)}`,
    status: 400,
    code: V,
  },
  {
    name: 'create: prototype key in an image',
    method: 'POST',
    path: '/api/seller/products',
    raw: JSON.stringify({ ...validProduct, images: [{ prototype: 1 }] }),
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'upload: multipart/form-data without a boundary',
    method: 'POST',
    path: '/api/seller/products/images',
    raw: '--x\r\nContent-Disposition: form-data; name="files"; filename="a.png"\r\nContent-Type: image/png\r\n\r\nx\r\n--x--\r\n',
    contentType: 'multipart/form-data',
    token: (a) => a.seller.accessToken,
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
  },
  {
    name: 'upload: multipart body cut short',
    method: 'POST',
    path: '/api/seller/products/images',
    raw: '--x\r\nContent-Disposition: form-data; name="files"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n\x89PNG',
    contentType: 'multipart/form-data; boundary=x',
    token: (a) => a.seller.accessToken,
    status: 400,
    code: 'BAD_REQUEST',
  },
  {
    name: 'list: constructor query key (dropped silently before)',
    method: 'GET',
    path: '/api/general/products?constructor=1',
    status: 400,
    code: V,
  },
  {
    name: 'admin sellers: prototype query key',
    method: 'GET',
    path: '/api/admin/sellers?prototype=1',
    token: (a) => a.admin.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'update: body is null',
    method: 'PATCH',
    path: (a) => `/api/seller/products/${a.productId}`,
    raw: 'null',
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'update event: body is null',
    method: 'PATCH',
    path: (a) => `/api/admin/events/${a.eventId}`,
    raw: 'null',
    token: (a) => a.admin.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'update: no body at all',
    method: 'PATCH',
    path: (a) => `/api/seller/products/${a.productId}`,
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'role: body is null',
    method: 'PUT',
    path: (a) => `/api/admin/members/${a.customer.id}/role`,
    raw: 'null',
    token: (a) => a.admin.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'update: JSON sent as multipart/form-data',
    method: 'PATCH',
    path: (a) => `/api/seller/products/${a.productId}`,
    raw: JSON.stringify({ price: 7 }),
    contentType: 'multipart/form-data; boundary=x',
    token: (a) => a.seller.accessToken,
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
  },
  {
    name: 'update event: JSON sent as multipart/form-data',
    method: 'PATCH',
    path: (a) => `/api/admin/events/${a.eventId}`,
    raw: JSON.stringify({ title: 'multipart' }),
    contentType: 'multipart/form-data; boundary=x',
    token: (a) => a.admin.accessToken,
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
  },
  {
    name: 'login: multipart/form-data body',
    method: 'POST',
    path: '/api/auth/login',
    raw: '--x\r\nContent-Disposition: form-data; name="email"\r\n\r\na@test.pick\r\n--x--\r\n',
    contentType: 'multipart/form-data; boundary=x',
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
  },
  {
    name: 'approve: multipart/form-data body',
    method: 'POST',
    path: (a) => `/api/admin/sellers/${a.seller.id}/approve`,
    raw: '--x--\r\n',
    contentType: 'multipart/form-data; boundary=x',
    token: (a) => a.admin.accessToken,
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
  },
  {
    name: 'my coupons: unknown query parameter',
    method: 'GET',
    path: '/api/members/me/coupons?x=1',
    token: (a) => a.customer.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'detail: unknown query parameter (a cached product)',
    method: 'GET',
    path: (a) => `/api/general/products/${a.productId}?x=1`,
    status: 400,
    code: V,
  },
  {
    name: 'event: unknown query parameter',
    method: 'GET',
    path: (a) => `/api/events/${a.eventId}?x=1`,
    status: 400,
    code: V,
  },
  {
    name: 'claim: unknown query parameter',
    method: 'POST',
    path: (a) => `/api/events/${a.eventId}/coupons/1/issue?x=1`,
    token: (a) => a.customer.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'liveness: unknown query parameter',
    method: 'GET',
    path: '/health/live?x=1',
    status: 400,
    code: V,
  },
  {
    name: 'event status: unknown query parameter beside a known one',
    method: 'GET',
    path: (a) => `/api/admin/events/${a.eventId}/status?maxAgeMs=0&x=1`,
    token: (a) => a.admin.accessToken,
    status: 400,
    code: V,
  },
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
 * table takes longer than that to reach these rows).
 */
async function throttledActors(t: TestApp): Promise<Actors['throttled']> {
  const [customer, seller] = await Promise.all([t.http.member('CUSTOMER'), t.http.member('SELLER')]);
  const product = await t.http.post('/api/seller/products', validProduct, seller.accessToken);
  expect(product.status).toBe(201);
  const failures = [];
  for (let n = 0; n < t.config.THROTTLE_LOGIN_EMAIL_LIMIT; n++)
    failures.push((await t.http.post('/api/auth/login', { email: customer.email, password: 'wrong' })).status);
  expect(failures.every((status) => status === 401)).toBe(true);
  const redis = t.app.get(Redis);
  const used = (limit: LimitName, key: string) =>
    redis.set(`${throttleKeyPrefix(t.config.REDIS_PREFIX, limit)}:${key}`, 1_000_000, 'EX', 600);
  await Promise.all([used('claim', customer.id), used('productWrite', seller.id), used('upload', seller.id)]);
  return { email: customer.email, customer, seller, productId: product.body.id };
}

describe('bad input', () => {
  let t: TestApp;
  let a: Actors;

  beforeAll(async () => {
    t = await startTestApp();
    const [customer, seller, otherSeller, rotated] = await Promise.all([
      t.http.member('CUSTOMER'),
      t.http.member('SELLER'),
      t.http.member('SELLER'),
      t.http.member('CUSTOMER'),
    ]);
    const rotation = await t.http.post('/api/auth/token/refresh', { refreshToken: rotated.refreshToken });
    expect(rotation.status).toBe(200);
    const mine = await t.http.post('/api/seller/products', validProduct, seller.accessToken);
    const others = await t.http.post('/api/seller/products', validProduct, otherSeller.accessToken);
    expect([mine.status, others.status]).toEqual([201, 201]);
    // The detail is cached from here on: its fast path sees the rows that query it.
    expect((await t.http.get(`/api/general/products/${mine.body.id}`)).status).toBe(200);
    const adminToken = await testAdminToken();
    const { eventId } = await createEvent(t.http, adminToken, eventBody());
    const admin = {
      id: String(JSON.parse(Buffer.from(adminToken.split('.')[1], 'base64url').toString()).sub),
      accessToken: adminToken,
    };
    const [pendingSeller, rejectedSeller, banned, deleted, demoted, loggedOutAll, loggedOut, replayed] =
      await Promise.all([
        t.http.member('SELLER', { approved: false }),
        t.http.member('SELLER', { approved: false }),
        t.http.member('CUSTOMER'),
        t.http.member('CUSTOMER'),
        t.http.member('SELLER'),
        t.http.member('CUSTOMER'),
        t.http.member('CUSTOMER'),
        t.http.member('CUSTOMER'),
      ]);
    const reject = await t.http.post(`/api/admin/sellers/${rejectedSeller.id}/reject`, undefined, adminToken);
    const rejectedLogin = await t.http.post('/api/auth/login', {
      email: rejectedSeller.email,
      password: 'password123',
    });
    const replayRotation = await t.http.post('/api/auth/token/refresh', { refreshToken: replayed.refreshToken });
    const setup = [
      reject,
      rejectedLogin,
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
    expect(setup.map((r) => r.status)).toEqual([200, 200, 200, 401, 200, 204, 200, 204, 204]);
    a = {
      customer,
      seller,
      otherSeller,
      usedRefresh: rotated.refreshToken,
      productId: mine.body.id,
      othersProductId: others.body.id,
      eventId,
      accessSecret: t.config.JWT_ACCESS_SECRET,
      refreshSecret: t.config.JWT_REFRESH_SECRET,
      admin,
      pendingSeller,
      rejectedSeller: { ...rejectedSeller, ...rejectedLogin.body },
      banned,
      deleted,
      demoted,
      loggedOutAll,
      loggedOut,
      replayedFamilyRefresh: replayRotation.body.refreshToken,
      throttled: await throttledActors(t),
    };
  });
  afterAll(() => t.close());

  badInputTable(cases, () => ({ http: t.http, actors: a }), 40);

  it("a rejected logout with someone else's token leaves that token working", async () => {
    const rotation = await t.http.post('/api/auth/token/refresh', { refreshToken: a.seller.refreshToken });
    expect(rotation.status).toBe(200);
  });

  it('echoes a well-formed x-request-id and replaces a malformed one', async () => {
    const given = await t.http.request('GET', '/api/general/products/abc', {
      headers: { 'x-request-id': 'trace-123.abc' },
    });
    expect(given.headers.get('x-request-id')).toBe('trace-123.abc');
    expect(given.body.requestId).toBe('trace-123.abc');
    const bad = await t.http.request('GET', '/api/general/products/abc', {
      headers: { 'x-request-id': 'bad id with spaces <script>' },
    });
    expect(bad.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('refuses __proto__ and constructor query keys without polluting anything', async () => {
    const result = await t.http.get('/api/general/products?__proto__=1&constructor=2');
    expect(result.status).toBe(400);
    expect(({} as Record<string, unknown>)['1']).toBeUndefined();
    expect(Object.prototype.toString).toBe(Object.prototype.toString);
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

  it('failed updates changed nothing', async () => {
    const product = await t.http.get(`/api/general/products/${a.othersProductId}`);
    expect(product.body).toMatchObject({
      name: validProduct.name,
      price: validProduct.price,
      stock: validProduct.stock,
    });
    const mine = await t.http.get(`/api/general/products/${a.productId}`);
    expect(mine.body).toMatchObject({ name: validProduct.name, price: validProduct.price, stock: validProduct.stock });
  });

  it('an admin role in the database passes role checks (control for the 403 rows)', async () => {
    const admin = await t.http.member('CUSTOMER');
    await t.app.get(EntityManager).fork().nativeUpdate(Member, { id: admin.id }, { role: MemberRole.ADMIN });
    const login = await t.http.post('/api/auth/login', { email: admin.email, password: 'password123' });
    const updated = await t.http.patch(
      `/api/seller/products/${a.othersProductId}`,
      { stock: 5 },
      login.body.accessToken,
    );
    expect(updated.status).toBe(200);
  });
});
