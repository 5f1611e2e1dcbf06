import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpRequests } from '../metrics/metrics.js';
import { testAdminToken } from '../testing/admin.js';
import { startTestApp, type TestApp } from '../testing/app.js';
import { createEvent, eventBody } from '../testing/fixtures.js';
import { counterValue } from '../testing/metrics.js';
import { until } from '../testing/poll.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const CLAIM_ROUTE = '/api/events/:eventId/coupons/:couponId/issue';

/**
 * The hot lane (src/http/hot-routes.ts) answers the claim and the catalog's cache hits before Fastify.
 * What every answer has, a hot one has too: x-request-id (kept when well-formed, else fresh), x-served-by,
 * the error shape with its request id, pick_http_requests_total under the route's template, the access
 * log line with Fastify's fields and the client address a trusted proxy forwarded. What the lane must not
 * take (a query, a body, a content encoding, HEAD) reaches the pipeline and the controller unchanged.
 */
describe('hot routes', () => {
  const logLines: string[] = [];
  let t: TestApp;
  let token: string;
  let claimPath: string;

  beforeAll(async () => {
    // debug: a log line for every request, as for Fastify's own.
    t = await startTestApp({ LOG_LEVEL: 'debug', SERVED_BY_HEADER: 'true' }, { logLines });
    token = (await t.http.member()).accessToken;
    const { eventId, couponIds } = await createEvent(t.http, await testAdminToken(), eventBody({ max: 1 }));
    claimPath = `/api/events/${eventId}/coupons/${couponIds[0]}/issue`;
  });
  afterAll(() => t?.close());

  const lineOf = async (requestId: string) =>
    JSON.parse(
      (await until(
        `log line of ${requestId}`,
        () => logLines.find((line) => line.includes(`"requestId":"${requestId}"`) && line.includes('"msg":"request"')),
        (line) => line !== undefined,
        5000,
        20,
      ))!,
    ) as Record<string, unknown>;

  it('answers a claim (202, then 409) with the request id, x-served-by, the error shape, metrics and the log line', async () => {
    const accepted202 = () => counterValue(httpRequests, { method: 'POST', route: CLAIM_ROUTE, status: '202' });
    const refused409 = () => counterValue(httpRequests, { method: 'POST', route: CLAIM_ROUTE, status: '409' });
    const before = { accepted: await accepted202(), refused: await refused409() };

    const accepted = await t.http.request('POST', claimPath, {
      token,
      headers: { 'x-request-id': 'hot-claim-1', 'x-forwarded-for': '203.0.113.9' },
    });
    expect(accepted.status).toBe(202);
    expect(accepted.body).toEqual({ status: 'PENDING' });
    expect(accepted.headers.get('x-request-id')).toBe('hot-claim-1');
    expect(accepted.headers.get('x-served-by')).toMatch(/\//);
    expect(accepted.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(accepted.headers.get('content-length')).toBe(String(JSON.stringify(accepted.body).length));

    const again = await t.http.request('POST', claimPath, { token, headers: { 'x-request-id': 'not a valid id!' } });
    expect(again.status).toBe(409);
    const requestId = again.headers.get('x-request-id')!;
    expect(requestId).toMatch(UUID);
    expect(again.body).toEqual({
      statusCode: 409,
      code: 'COUPON_ALREADY_ISSUED',
      message: 'You already have this coupon',
      requestId,
    });

    expect(await accepted202()).toBe(before.accepted + 1);
    expect(await refused409()).toBe(before.refused + 1);
    // The loopback peer is a trusted proxy in tests: the forwarded address is the client, as Fastify's request.ip.
    expect(await lineOf('hot-claim-1')).toMatchObject({
      reqId: 'hot-claim-1',
      requestId: 'hot-claim-1',
      method: 'POST',
      route: CLAIM_ROUTE,
      url: claimPath,
      status: 202,
      ms: expect.any(Number),
      ip: '203.0.113.9',
    });
    expect(await lineOf(requestId)).toMatchObject({ route: CLAIM_ROUTE, status: 409, ip: '127.0.0.1' });
  });

  it('answers an unknown token 401 in the API shape, with the request id', async () => {
    const refused = await t.http.request('POST', claimPath, {
      token: 'not.a.token',
      headers: { 'x-request-id': 'hot-claim-401' },
    });
    expect(refused.status).toBe(401);
    expect(refused.body).toMatchObject({ statusCode: 401, code: 'INVALID_TOKEN', requestId: 'hot-claim-401' });
    expect(await lineOf('hot-claim-401')).toMatchObject({ route: CLAIM_ROUTE, status: 401 });
  });

  it('leaves a claim with a query string, a body or a content encoding to the pipeline and the controller', async () => {
    const query = await t.http.request('POST', `${claimPath}?force=1`, { token });
    expect(query.status).toBe(400);
    expect(query.body.code).toBe('VALIDATION_FAILED');
    // The controller takes no body: it decides on the member of the token alone, as the hot route would.
    const body = await t.http.request('POST', claimPath, {
      token,
      body: { memberId: '1' },
      headers: { 'x-request-id': 'hot-claim-body' },
    });
    expect({ status: body.status, code: body.body.code }).toEqual({ status: 409, code: 'COUPON_ALREADY_ISSUED' });
    const encoded = await t.http.request('POST', claimPath, {
      token,
      headers: { 'content-encoding': 'gzip', 'content-type': 'application/json' },
      raw: '{}',
    });
    expect({ status: encoded.status, code: encoded.body.code }).toEqual({
      status: 415,
      code: 'UNSUPPORTED_MEDIA_TYPE',
    });
  });

  it('answers a catalog hit like the miss before it, and leaves HEAD to Fastify', async () => {
    const miss = await t.http.request('GET', '/api/general/products?category=PANTS', {
      headers: { 'x-request-id': 'hot-miss' },
    });
    const hit = await t.http.request('GET', '/api/general/products?category=PANTS', {
      headers: { 'x-request-id': 'hot-hit' },
    });
    expect(hit.status).toBe(200);
    expect(hit.body).toEqual(miss.body);
    const shared = (headers: Headers) =>
      Object.fromEntries([...headers].filter(([name]) => !['date', 'x-request-id'].includes(name)));
    expect(shared(hit.headers)).toEqual(shared(miss.headers));
    expect(hit.headers.get('x-request-id')).toBe('hot-hit');
    expect(await lineOf('hot-hit')).toMatchObject({ route: '/api/general/products', status: 200, method: 'GET' });

    const notModified = await t.http.request('GET', '/api/general/products?category=PANTS', {
      headers: { 'if-none-match': hit.headers.get('etag')! },
    });
    expect(notModified.status).toBe(304);
    expect(notModified.headers.get('content-length')).toBeNull();

    const head = await fetch(`${t.url}/api/general/products?category=PANTS`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('etag')).toBe(hit.headers.get('etag'));
  });
});
