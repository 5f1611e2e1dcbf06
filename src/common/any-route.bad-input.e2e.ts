import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAppWithActors, type RoleActors } from '../testing/actors.js';
import type { TestApp } from '../testing/app.js';
import { badInputTable, V, type BadInputCase } from '../testing/bad-input.js';
import { createEvent, createProduct, eventBody, validProduct, validSignup } from '../testing/fixtures.js';

/**
 * What every route does with a malformed request, whatever its feature: the JSON parser, content types,
 * the rule that a DTO body is a JSON object, multipart/form-data, undeclared query parameters, URLs and
 * unknown routes, request ids. The mechanisms live in src/common/validation.ts and src/bootstrap.ts; the
 * routes in the rows are only carriers. Each gets the exact 4xx and code, never a 5xx, and every error
 * body has the same shape. Table-driven: one row per case (src/testing/bad-input.ts).
 * A feature's own rules (its DTOs, path ids, guards, states) are in its folder: src/<feature>/*.bad-input.e2e.ts.
 */

interface Actors extends RoleActors {
  productId: string;
  /** An event the admin created (PATCH /api/admin/events/{id}). */
  eventId: string;
}

const cases: BadInputCase<Actors>[] = [
  // --- the JSON parser and content types (sent to signup) ---
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
  // --- a body declared as a DTO is a JSON object, on every route ---
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
    name: 'create: body is an array',
    method: 'POST',
    path: '/api/seller/products',
    body: [validProduct],
    token: (a) => a.seller.accessToken,
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
  // --- a lone UTF-16 surrogate, in any key or value: refused by the JSON parser ---
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
  // --- prototype keys in a body (Nest's pipe would drop them unseen): refused by the JSON parser ---
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
  // --- multipart/form-data only to a route that reads it ---
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
  // --- query parameters: none on a route that declares none, no prototype keys anywhere ---
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
    name: 'my coupons: unknown query parameter',
    method: 'GET',
    path: '/api/members/me/coupons?x=1',
    token: (a) => a.customer.accessToken,
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
  // --- URLs and routes ---
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
  { name: 'unknown route', method: 'GET', path: '/api/general/nothing-here', status: 404, code: 'NOT_FOUND' },
  {
    name: 'unsupported method on a route',
    method: 'PUT',
    path: '/api/general/products',
    body: {},
    status: 404,
    code: 'NOT_FOUND',
  },
];

describe('bad input on any route', () => {
  let t: TestApp;
  let a: Actors;

  beforeAll(async () => {
    const { t: app, actors } = await startAppWithActors();
    t = app;
    const [productId, { eventId }] = await Promise.all([
      createProduct(t.http, actors.seller.accessToken),
      createEvent(t.http, actors.admin.accessToken, eventBody()),
    ]);
    a = { ...actors, productId, eventId };
  });
  afterAll(() => t.close());

  badInputTable(cases, () => ({ http: t.http, actors: a }), 49);

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
});
