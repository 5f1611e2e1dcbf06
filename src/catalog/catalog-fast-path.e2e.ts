import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi, type MockInstance } from 'vitest';
import { cacheHits } from '../cache/cache.metrics.js';
import { httpRequests } from '../metrics/metrics.js';
import { startTestApp, type TestApp } from '../testing/app.js';
import { createProductBroadcast } from '../testing/catalog.js';
import { counterValue } from '../testing/metrics.js';
import { openApiChecker } from '../testing/openapi-check.js';
import { sleep, until } from '../testing/poll.js';
import { etagListMatches } from './catalog-fast-path.js';
import { CatalogService } from './catalog.service.js';

interface Raw {
  status: number;
  text: string;
  headers: Record<string, string>;
}

/** A GET with its exact body bytes and every header (checked against the API document too). */
async function rawGet(base: string, path: string, headers: Record<string, string> = {}): Promise<Raw> {
  const response = await fetch(base + path, { headers });
  const text = await response.text();
  openApiChecker().check('GET', path, response.status, response.headers, text ? JSON.parse(text) : undefined);
  return { status: response.status, text, headers: Object.fromEntries(response.headers) };
}

/** Headers that differ between any two responses by design. */
const withoutPerRequest = ({ date: _date, 'x-request-id': _id, ...rest }: Record<string, string>) => rest;

/**
 * Cache hits of GET /api/general/products and /:id are answered by CatalogFastPath (the hot lane,
 * before Fastify and Nest): the same bytes and headers as the controller, 304 on If-None-Match, counted in the
 * metrics, never stale after a write on any worker, and never for a request the controller refuses.
 */
describe('catalog fast path (cache hits before Nest)', () => {
  let a: TestApp;
  let b: TestApp;
  let seller: string;
  let listPage: MockInstance;
  let detail: MockInstance;
  const category = 'PANTS';

  /** Creates a product and waits until both workers have had its broadcast (which evicts again). */
  const createProduct = (name: string, price = 100) =>
    createProductBroadcast(a.http, seller, { name, price, category }, 2);

  beforeAll(async () => {
    // Two workers in this process, sharing MySQL and the Redis transport like two PM2 workers.
    a = await startTestApp();
    b = await startTestApp();
    seller = (await a.http.member('SELLER')).accessToken;
    // The controller's path calls these per request; a hit on the fast path never does.
    listPage = vi.spyOn(a.app.get(CatalogService), 'listPage');
    detail = vi.spyOn(a.app.get(CatalogService), 'detail');
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await Promise.all([a?.close(), b?.close()]);
  });

  it('a hit answers the same bytes and headers as the miss the controller answered, without the controller', async () => {
    await createProduct(`fp-${randomUUID()}`);
    for (const path of [
      `/api/general/products?category=${category}`,
      `/api/general/products?sort=LOW_PRICE&category=${category}&lastId=1&lastPrice=0`,
      `/api/general/products?lastPrice=5&lastId=999999999`, // NEW ignores lastPrice: one page, one key
      `/api/general/products/${await createProduct(`fp-detail-${randomUUID()}`)}`,
    ]) {
      listPage.mockClear();
      detail.mockClear();
      const miss = await rawGet(a.url, path);
      expect(miss.status, path).toBe(200);
      expect(listPage.mock.calls.length + detail.mock.calls.length, path).toBe(1);
      const hit = await rawGet(a.url, path);
      expect(listPage.mock.calls.length + detail.mock.calls.length, `${path}: the hit reached the controller`).toBe(1);
      expect(hit.status).toBe(200);
      expect(hit.text).toBe(miss.text);
      expect(withoutPerRequest(hit.headers)).toEqual(withoutPerRequest(miss.headers));
      expect(hit.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
      expect(hit.headers['x-request-id']).not.toBe(miss.headers['x-request-id']);
      expect(hit.headers).toMatchObject({
        'content-type': 'application/json; charset=utf-8',
        'content-length': String(Buffer.byteLength(miss.text)),
        etag: expect.stringMatching(/^"[A-Za-z0-9_-]{27}"$/),
        'cache-control': 'no-cache',
      });
    }
    // A well-formed incoming request id is kept on the fast path too.
    const own = await rawGet(a.url, `/api/general/products?category=${category}`, { 'x-request-id': 'fp-req-1' });
    expect(own.headers['x-request-id']).toBe('fp-req-1');
  });

  it('answers 304 without a body to a matching If-None-Match, on a hit and on a miss alike', async () => {
    const path = `/api/general/products?category=${category}&lastId=888888888`;
    const first = await rawGet(a.url, path);
    const { etag } = first.headers;
    // The other worker (cold: a miss, through the controller) gives the same bytes the same tag.
    const cold = await rawGet(b.url, path, { 'if-none-match': etag });
    expect(cold.status).toBe(304);
    listPage.mockClear();
    for (const header of [etag, `W/${etag}`, `"nope", ${etag}`, '*']) {
      const res = await rawGet(a.url, path, { 'if-none-match': header });
      expect(res.status, header).toBe(304);
      expect(res.text).toBe('');
      expect(res.headers.etag).toBe(etag);
      expect(res.headers['x-request-id']).toBeTruthy();
    }
    expect(listPage).not.toHaveBeenCalled();
    const other = await rawGet(a.url, path, { 'if-none-match': '"something-else"' });
    expect(other.status).toBe(200);
    expect(other.text).toBe(first.text);
    expect(etagListMatches(`"x", W/${etag} , "y"`, etag)).toBe(true);
    expect(etagListMatches(etag.slice(0, -2) + '"', etag)).toBe(false);
  });

  it('after a write no worker serves the old bytes: the writer at once, the other after the broadcast', async () => {
    const id = await createProduct(`fp-write-${randomUUID()}`, 0);
    // A cursor just before it (price 0, ties by id): the page starts with this product whatever else the database holds.
    const list = `/api/general/products?sort=LOW_PRICE&category=${category}&lastPrice=0&lastId=${BigInt(id) - 1n}`;
    const one = `/api/general/products/${id}`;
    // Warm both workers' caches and check the reads are hits (fast path) before the write.
    for (const app of [a, b]) for (const path of [list, one]) await rawGet(app.url, path);
    listPage.mockClear();
    detail.mockClear();
    const before = await rawGet(b.url, list);
    const old = { list: before.text, one: (await rawGet(b.url, one)).text };
    await rawGet(a.url, list);
    await rawGet(a.url, one);
    expect(listPage).not.toHaveBeenCalled();
    expect(detail).not.toHaveBeenCalled();

    const renamed = `fp-renamed-${randomUUID()}`;
    expect((await a.http.patch(`/api/seller/products/${id}`, { name: renamed }, seller)).status).toBe(200);
    // The writer evicted before it answered: its very next reads are fresh.
    const writerList = await rawGet(a.url, list);
    const writerOne = await rawGet(a.url, one);
    expect(writerList.text).not.toBe(old.list);
    expect(JSON.parse(writerList.text).items[0].name).toBe(renamed);
    expect(JSON.parse(writerOne.text).name).toBe(renamed);
    // The other worker: fresh once the broadcast lands (well within a second), and never old again.
    const start = Date.now();
    await until(
      'the other worker fresh',
      async () => (await rawGet(b.url, list)).text !== old.list && (await rawGet(b.url, one)).text !== old.one,
      Boolean,
      2000,
      5,
    );
    expect(Date.now() - start).toBeLessThan(1000);
    for (let i = 0; i < 20; i++) {
      for (const app of [a, b]) {
        expect(JSON.parse((await rawGet(app.url, list)).text).items[0].name).toBe(renamed);
        expect(JSON.parse((await rawGet(app.url, one)).text).name).toBe(renamed);
      }
    }
    // A revalidation with the old tag gets the new page, not a 304; the new tag is the same on both workers.
    const revalidated = await rawGet(b.url, list, { 'if-none-match': before.headers.etag });
    expect(revalidated.status).toBe(200);
    expect(revalidated.text).toBe(writerList.text);
    expect(revalidated.headers.etag).toBe(writerList.headers.etag);
    expect(revalidated.headers.etag).not.toBe(before.headers.etag);
  });

  it('counts fast-path hits in pick_http_requests_total (by route and status) and pick_cache_hits_total, exactly', async () => {
    const path = `/api/general/products?category=${category}&lastId=777777777`;
    const first = await rawGet(a.url, path); // miss: fills the cache
    await sleep(50); // its onResponse has run
    const ok = { method: 'GET', route: '/api/general/products', status: '200' };
    const notModified = { ...ok, status: '304' };
    const before = {
      ok: await counterValue(httpRequests, ok),
      notModified: await counterValue(httpRequests, notModified),
      hits: await counterValue(cacheHits, { cache: 'product_list' }),
    };
    listPage.mockClear();
    for (let i = 0; i < 5; i++) await rawGet(a.url, path);
    for (let i = 0; i < 3; i++) await rawGet(a.url, path, { 'if-none-match': first.headers.etag });
    expect(listPage).not.toHaveBeenCalled();
    await until(
      'counted',
      async () => (await counterValue(httpRequests, ok)) - before.ok,
      (n) => n >= 5,
      2000,
      10,
    );
    await sleep(50);
    expect((await counterValue(httpRequests, ok)) - before.ok).toBe(5);
    expect((await counterValue(httpRequests, notModified)) - before.notModified).toBe(3);
    expect((await counterValue(cacheHits, { cache: 'product_list' })) - before.hits).toBe(8);
  });

  it('a query or id the controller refuses gets its 4xx JSON error even when the page it resembles is cached', async () => {
    const path = `/api/general/products?category=${category}`;
    await rawGet(a.url, path);
    expect((await rawGet(a.url, path)).status).toBe(200); // cached
    const cases: [string, number, string][] = [
      [`${path}&unknown=1`, 400, 'VALIDATION_FAILED'],
      [`${path}&category=${category}`, 400, 'VALIDATION_FAILED'], // repeated: an array
      [`/api/general/products?category=pants`, 400, 'VALIDATION_FAILED'],
      [`/api/general/products?sort=NEW&lastPrice=5`, 400, 'INVALID_CURSOR'],
      [`/api/general/products?sort=LOW_PRICE&lastId=5`, 400, 'INVALID_CURSOR'],
      [`/api/general/products?lastId=0`, 400, 'VALIDATION_FAILED'],
      [`/api/general/products/0`, 400, 'VALIDATION_FAILED'],
      [`/api/general/products/999999999`, 404, 'PRODUCT_NOT_FOUND'],
    ];
    for (const [url, status, code] of cases) {
      const res = await rawGet(a.url, url);
      expect(res.status, url).toBe(status);
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(JSON.parse(res.text)).toMatchObject({ statusCode: status, code, requestId: res.headers['x-request-id'] });
      expect(res.headers.etag).toBeUndefined();
    }
  });
});
