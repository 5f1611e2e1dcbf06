/**
 * k6 is not installable on this machine, so the k6 scripts run here on one VU in a worker thread
 * with stand-ins for k6's modules (see worker.ts): against the real app for browsing, the seller's
 * edits and a rush prepared by both fixture commands; and against a small coupon server whose
 * faults we choose (oversold stock, a 500), to prove the script's checks fail the run when they must.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MikroORM } from '@mikro-orm/mysql';
import { ormOptions } from '../../../config/mikro-orm.js';
import { createRushEvent } from '../../../src/cli/create-rush-event.js';
import { mintMembers } from '../../../src/cli/mint-members.js';
import { startTestApp, type TestApp } from '../../../src/testing/app.js';
import { runK6Script, type ShimResult } from './run.js';

const script = (name: string) => new URL(`../${name}`, import.meta.url).pathname;
const total = (result: ShimResult, metric: string) =>
  (result.metrics[metric] ?? []).reduce((sum, s) => sum + s.value, 0);
const failedChecks = (result: ShimResult) => Object.entries(result.checks).filter(([, tally]) => tally.fails > 0);

describe('catalog-browse.ts and mixed-day.ts against the real catalog', () => {
  let t: TestApp;
  let seller: { email: string; accessToken: string };

  beforeAll(async () => {
    t = await startTestApp();
    seller = await t.http.member('SELLER');
    const categories = ['TOP', 'PANTS', 'SHOES'];
    for (let n = 0; n < 45; n++) {
      const created = await t.http.post(
        '/api/seller/products',
        {
          name: `k6 shim #${n}`,
          price: 1000 + (n % 7) * 100,
          description: 'paged by the k6 script',
          stock: 5,
          category: categories[n % 3],
          status: 'IN_STOCK',
        },
        seller.accessToken,
      );
      expect(created.status).toBe(201);
    }
  });
  afterAll(() => t?.close());

  it('a shopper pages through with the next cursor and opens products; every check passes', async () => {
    const result = await runK6Script({
      script: script('catalog-browse.ts'),
      env: { BASE_URL: t.url, MAX_PAGES: '4', DETAIL_RATE: '0.3' },
      exec: 'shop',
      iterations: 60,
      setup: false,
      teardown: false,
    });
    const lists = result.requests.filter((r) => r.tags.endpoint === 'list');
    const details = result.requests.filter((r) => r.tags.endpoint === 'detail');
    console.log(
      `shim browse: ${lists.length} list pages (${lists.filter((r) => r.url.includes('lastId=')).length} with a cursor), ${details.length} details`,
    );
    expect(lists).toHaveLength(60);
    expect(lists.every((r) => r.status === 200)).toBe(true);
    expect(lists.some((r) => r.url.includes('lastId='))).toBe(true);
    expect(details.length).toBeGreaterThan(0);
    expect(details.every((r) => r.status === 200)).toBe(true);
    expect(failedChecks(result)).toEqual([]);
    expect(result.checks['list: 200'].passes).toBe(60);
    expect(
      total(result, 'unexpected_responses') + total(result, 'server_errors') + total(result, 'transport_errors'),
    ).toBe(0);
  });

  it("defaults to the original's run (1,000 VUs for 2 min) and adds the open model on demand", async () => {
    const closed = await runK6Script({
      script: script('catalog-browse.ts'),
      env: {},
      exec: 'shop',
      iterations: 0,
      setup: false,
      teardown: false,
    });
    expect(closed.options.scenarios).toEqual({
      closed: expect.objectContaining({ executor: 'constant-vus', vus: 1000, duration: '2m' }),
    });
    expect(closed.options.thresholds.server_errors).toEqual(['count==0']);
    const both = await runK6Script({
      script: script('catalog-browse.ts'),
      env: { SCENARIO: 'both', VUS: '50', DURATION: '30s', RATE: '300' },
      exec: 'shop',
      iterations: 0,
      setup: false,
      teardown: false,
    });
    expect(both.options.scenarios.open).toMatchObject({
      executor: 'ramping-arrival-rate',
      startTime: '40s',
      stages: [{ target: 300 }, { target: 300 }],
    });
    await expect(
      runK6Script({
        script: script('catalog-browse.ts'),
        env: { DURATION: '2 minutes' },
        exec: 'shop',
        iterations: 0,
        setup: false,
        teardown: false,
      }),
    ).rejects.toThrow(/DURATION/);
  });

  it('mixed day: the seller edits its own product while shoppers browse, and cleans up', async () => {
    const result = await runK6Script({
      script: script('mixed-day.ts'),
      env: { BASE_URL: t.url, SELLER_EMAIL: seller.email, SELLER_PASSWORD: 'password123', DAY: '60s' },
      exec: 'seller',
      iterations: 3,
      setup: true,
      teardown: true,
    });
    expect(result.teardownError).toBeUndefined();
    expect(result.checks['seller edit: 200 with the new price']).toEqual({ passes: 3, fails: 0 });
    expect(Object.keys(result.options.scenarios).sort()).toEqual(['browse', 'seller']);
    const id = /products\/(\d+)$/.exec(result.requests.find((r) => r.method === 'PATCH')!.url)![1];
    expect((await t.http.get(`/api/general/products/${id}`)).status).toBe(404);
  });
});

const CLAIM_CHECK = 'claim: 202, 409 COUPON_SOLD_OUT, 409 COUPON_ALREADY_ISSUED or 429 TOO_MANY_REQUESTS';

describe('coupon-rush.ts classification and stock check', () => {
  let dir: string;
  let server: Server;
  let url: string;
  const coupon = { stock: 5, claimed: new Set<string>(), oversell: 0, failEvery: 0, throttleEvery: 0, calls: 0 };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pick-k6-'));
    // The contract's shapes (docs/design.md): 202 PENDING, 409 with a code, GET /api/events/:id with remaining stock.
    server = createServer((request, response) => {
      const send = (status: number, body: unknown) =>
        response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (request.method === 'GET' && request.url === '/api/events/7') {
        return send(200, {
          id: '7',
          title: 'rush',
          coupons: [{ id: '9', maxIssuance: coupon.stock, remaining: coupon.stock - coupon.claimed.size }],
        });
      }
      if (request.method === 'POST' && request.url === '/api/events/7/coupons/9/issue') {
        coupon.calls++;
        if (coupon.failEvery && coupon.calls % coupon.failEvery === 0)
          return send(500, { statusCode: 500, code: 'INTERNAL' });
        if (coupon.throttleEvery && coupon.calls % coupon.throttleEvery === 0) {
          response.setHeader('retry-after', '1');
          return send(429, { statusCode: 429, code: 'TOO_MANY_REQUESTS' });
        }
        const member = String(request.headers.authorization);
        if (coupon.claimed.has(member)) return send(409, { statusCode: 409, code: 'COUPON_ALREADY_ISSUED' });
        // `oversell` accepts that many claims past the stock while still reporting the real count.
        if (coupon.claimed.size >= coupon.stock + coupon.oversell)
          return send(409, { statusCode: 409, code: 'COUPON_SOLD_OUT' });
        coupon.claimed.add(member);
        return send(202, { status: 'PENDING' });
      }
      send(404, { statusCode: 404, code: 'NOT_FOUND' });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    writeFileSync(
      join(dir, 'tokens.json'),
      JSON.stringify(Array.from({ length: 8 }, (_, i) => ({ id: String(i + 1), accessToken: `token-${i}` }))),
    );
    writeFileSync(
      join(dir, 'rush.json'),
      JSON.stringify({ eventId: '7', couponId: '9', stock: 5, startsAt: new Date(Date.now() - 1000).toISOString() }),
    );
  });
  afterAll(async () => {
    server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const rush = (env: Record<string, string> = {}) =>
    runK6Script({
      script: script('coupon-rush.ts'),
      env: {
        BASE_URL: url,
        RUSH_EVENT_FILE: join(dir, 'rush.json'),
        TOKENS_FILE: join(dir, 'tokens.json'),
        DUPLICATE_RATE: '0',
        DRAIN_WAIT_S: '0',
        K6_API_URL: 'http://k6.shim',
        ...env,
      },
      exec: 'rush',
      iterations: 12,
      setup: true,
      teardown: true,
    });

  it('classifies 202, sold out and duplicates, and passes the stock check', async () => {
    Object.assign(coupon, { claimed: new Set(), oversell: 0, failEvery: 0, throttleEvery: 0, calls: 0 });
    const result = await rush();
    // 8 members for 5 coupons, then members 1-4 again: 5 accepted, 3 sold out, 4 duplicates.
    expect([
      total(result, 'coupon_claims_accepted'),
      total(result, 'coupon_claims_sold_out'),
      total(result, 'coupon_claims_duplicate'),
    ]).toEqual([5, 3, 4]);
    expect(total(result, 'coupon_claims_unexpected')).toBe(0);
    expect(failedChecks(result)).toEqual([]);
    expect(result.teardownError).toBeUndefined();
    expect(result.metrics.coupon_remaining_after_rush.at(-1)?.value).toBe(0);
    expect(result.options.thresholds.coupon_claims_accepted).toEqual(['count<=5']);
  });

  it('fails the run when more claims were accepted than the stock', async () => {
    Object.assign(coupon, { claimed: new Set(), oversell: 1, failEvery: 0, throttleEvery: 0, calls: 0 });
    const result = await rush();
    expect(total(result, 'coupon_claims_accepted')).toBe(6);
    expect(result.teardownError).toMatch(/6 claims accepted \(202\) > stock 5/);
    expect(total(result, 'coupon_stock_violations')).toBeGreaterThan(0);
  });

  it('counts a 5xx as unexpected and a server error', async () => {
    Object.assign(coupon, { claimed: new Set(), oversell: 0, failEvery: 4, throttleEvery: 0, calls: 0 });
    const result = await rush();
    expect(total(result, 'coupon_claims_unexpected')).toBe(3);
    expect(total(result, 'server_errors')).toBe(3);
    expect(result.checks[CLAIM_CHECK].fails).toBe(3);
  });

  it('counts a throttled claim (429 TOO_MANY_REQUESTS) as throttled, not unexpected', async () => {
    Object.assign(coupon, { claimed: new Set(), oversell: 0, failEvery: 0, throttleEvery: 4, calls: 0 });
    const result = await rush();
    expect(total(result, 'coupon_claims_throttled')).toBe(3);
    expect(total(result, 'coupon_claims_unexpected')).toBe(0);
    expect(total(result, 'unexpected_responses')).toBe(0);
    expect(failedChecks(result)).toEqual([]);
  });
});

describe('coupon-rush.ts against the real coupons API, with both fixture commands', () => {
  let t: TestApp;
  let dir: string;
  beforeAll(async () => {
    t = await startTestApp();
    dir = mkdtempSync(join(tmpdir(), 'pick-k6-real-'));
  });
  afterAll(async () => {
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('8 minted members then 4 repeats on a stock of 5: 5 accepted, 3 sold out, 4 duplicates, stock check passes', async () => {
    const rushFile = join(dir, 'rush.json');
    const tokensFile = join(dir, 'tokens.json');
    await createRushEvent(
      ['--base-url', t.url, '--stock', '5', '--starts-in', '1', '--duration', '60', '--out', rushFile],
      { ...process.env },
    );
    const orm = await MikroORM.init(ormOptions(t.config));
    try {
      writeFileSync(tokensFile, JSON.stringify(await mintMembers(orm, t.config, { count: 8 })));
    } finally {
      await orm.close(true);
    }
    const result = await runK6Script({
      script: script('coupon-rush.ts'),
      env: {
        BASE_URL: t.url,
        RUSH_EVENT_FILE: rushFile,
        TOKENS_FILE: tokensFile,
        DUPLICATE_RATE: '0',
        DRAIN_WAIT_S: '1',
        K6_API_URL: 'http://k6.shim',
      },
      exec: 'rush',
      iterations: 12,
      setup: true,
      teardown: true,
    });
    expect([
      total(result, 'coupon_claims_accepted'),
      total(result, 'coupon_claims_sold_out'),
      total(result, 'coupon_claims_duplicate'),
    ]).toEqual([5, 3, 4]);
    expect(total(result, 'coupon_claims_unexpected') + total(result, 'unexpected_responses')).toBe(0);
    expect(failedChecks(result)).toEqual([]);
    expect(result.teardownError).toBeUndefined();
    expect(result.metrics.coupon_remaining_after_rush.at(-1)?.value).toBe(0);
    expect(result.metrics.coupon_issued_by_server.at(-1)?.value).toBe(5);

    // mixed day's members scenario: their coupons and their claim status, all answered
    const day = await runK6Script({
      script: script('mixed-day.ts'),
      env: { BASE_URL: t.url, RUSH_EVENT_FILE: rushFile, TOKENS_FILE: tokensFile, DAY: '60s' },
      exec: 'member',
      iterations: 10,
      setup: true,
      teardown: false,
    });
    expect(Object.keys(day.options.scenarios).sort()).toEqual(['browse', 'members', 'rush']);
    expect(day.checks['my coupons: 200']).toEqual({ passes: 10, fails: 0 });
    expect(day.checks['claim status: NONE, PENDING or ISSUED']).toEqual({ passes: 10, fails: 0 });
  });
});
