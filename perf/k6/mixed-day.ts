/**
 * A realistic day, compressed into DAY (default 10m): browse-heavy traffic that rises to an evening
 * peak, a coupon event in the middle, members checking their coupons, and (optional) a seller
 * editing a product now and then so cache invalidation happens under load.
 *   browse   ramping arrival rate of page views: BASE_RATE, rising to PEAK_RATE mid-day, back down
 *   rush     at RUSH_AT (default 40% into the day): a RUSH_RATE/s spike of claims for RUSH_HOLD
 *   members  MEMBER_RATE/s: GET /api/members/me/coupons and the claim status, random minted members
 *   seller   SELLER_EVERY_S: PATCH the price of a product the seller created in setup (needs
 *            SELLER_EMAIL / SELLER_PASSWORD; skipped without them); the product is deleted in teardown
 * Claims before the event opens get 403 EVENT_NOT_STARTED: here that is expected (early clickers).
 */
import { check } from 'k6';
import exec from 'k6/execution';
import http from 'k6/http';
import type { Options, Scenario } from 'k6/options';
import { browsePage } from './lib/catalog.ts';
import {
  claim,
  DUPLICATE_RATE,
  loadRushEvent,
  loadTokens,
  memberToken,
  verifyStock,
  type RushEvent,
} from './lib/coupons.ts';
import { BASE_URL, duration, fraction, int, optionalText, seconds } from './lib/env.ts';
import { noUnexpectedFailures, recordResponse, stockViolations } from './lib/metrics.ts';

const tokens = loadTokens();
const event = loadRushEvent();
const day = seconds(duration('DAY', '10m'));
const baseRate = int('BASE_RATE', 300, 1);
const peakRate = int('PEAK_RATE', 1000, 1);
const rushAt = Math.round(day * fraction('RUSH_AT', 0.4));
const memberRate = int('MEMBER_RATE', 20);
const sellerEvery = int('SELLER_EVERY_S', 10, 1);
const settings = { maxPages: int('MAX_PAGES', 5, 1), detailRate: fraction('DETAIL_RATE', 0.2) };
const duplicateRate = DUPLICATE_RATE();
const part = (share: number) => `${Math.max(1, Math.round(day * share))}s`;

const scenarios: Record<string, Scenario> = {
  browse: {
    executor: 'ramping-arrival-rate',
    startRate: Math.round(baseRate * 0.3),
    timeUnit: '1s',
    preAllocatedVUs: int('PRE_VUS', 200, 1),
    maxVUs: int('MAX_VUS', 2000, 1),
    stages: [
      { target: baseRate, duration: part(0.15) }, // morning
      { target: baseRate, duration: part(0.2) },
      { target: peakRate, duration: part(0.1) }, // the event draws people in
      { target: peakRate, duration: part(0.25) },
      { target: baseRate, duration: part(0.1) },
      { target: baseRate, duration: part(0.2) }, // evening
    ],
    gracefulStop: '10s',
    exec: 'browse',
  },
};
if (event && tokens.length > 0) {
  const rushRate = int('RUSH_RATE', 1000, 1);
  scenarios.rush = {
    executor: 'ramping-arrival-rate',
    startTime: `${rushAt}s`,
    startRate: 0,
    timeUnit: '1s',
    preAllocatedVUs: int('RUSH_PRE_VUS', 300, 1),
    maxVUs: int('RUSH_MAX_VUS', 2000, 1),
    stages: [
      { target: rushRate, duration: duration('RUSH_RAMP', '3s') },
      { target: rushRate, duration: duration('RUSH_HOLD', '20s') },
      { target: 0, duration: duration('RUSH_RAMP_DOWN', '5s') },
    ],
    gracefulStop: '10s',
    exec: 'rush',
  };
}
if (tokens.length > 0 && memberRate > 0) {
  scenarios.members = {
    executor: 'constant-arrival-rate',
    rate: memberRate,
    timeUnit: '1s',
    duration: `${day}s`,
    preAllocatedVUs: 20,
    maxVUs: 200,
    exec: 'member',
  };
}
const sellerEmail = optionalText('SELLER_EMAIL');
if (sellerEmail) {
  scenarios.seller = {
    executor: 'constant-arrival-rate',
    rate: 1,
    timeUnit: `${sellerEvery}s`,
    duration: `${day}s`,
    preAllocatedVUs: 1,
    maxVUs: 2,
    exec: 'seller',
  };
}

export const options: Options = {
  scenarios,
  setupTimeout: '1m',
  teardownTimeout: '2m',
  summaryTrendStats: ['avg', 'min', 'med', 'p(90)', 'p(95)', 'p(99)', 'max'],
  thresholds: {
    'http_req_duration{scenario:browse}': [`p(95)<${int('P95_MS', 200)}`, `p(99)<${int('P99_MS', 500)}`],
    'http_req_duration{scenario:rush}': [`p(95)<${int('RUSH_P95_MS', 300)}`, `p(99)<${int('RUSH_P99_MS', 1000)}`],
    'http_req_duration{scenario:members}': [`p(95)<${int('P95_MS', 200)}`, `p(99)<${int('P99_MS', 500)}`],
    ...(event ? { coupon_claims_accepted: [`count<=${event.stock}`] } : {}),
    coupon_claims_unexpected: ['count==0'],
    coupon_stock_violations: ['count==0'],
    http_req_failed: ['rate<0.001'],
    checks: ['rate>0.999'],
    ...noUnexpectedFailures,
  },
};

// 403 (too early), 409 (sold out, duplicate) and 429 (a throttled claim) are answers, not failures.
http.setResponseCallback(http.expectedStatuses({ min: 200, max: 204 }, 403, 409, 429));

interface DayData {
  event: RushEvent | null;
  seller: { token: string; productId: string } | null;
}

export function setup(): DayData {
  stockViolations.add(0);
  if (!sellerEmail) return { event, seller: null };
  const login = http.post(
    `${BASE_URL}/api/auth/login`,
    JSON.stringify({ email: sellerEmail, password: optionalText('SELLER_PASSWORD') ?? 'password' }),
    {
      headers: { 'content-type': 'application/json' },
    },
  );
  if (login.status !== 200) throw new Error(`seller login failed: ${login.status} ${String(login.body).slice(0, 200)}`);
  const token = (login.json() as { accessToken: string }).accessToken;
  const created = http.post(
    `${BASE_URL}/api/seller/products`,
    JSON.stringify({
      name: 'k6 mixed-day product',
      price: 10_000,
      description: 'Edited during the k6 mixed day; deleted at its end.',
      stock: 100,
      category: 'TOP',
      status: 'IN_STOCK',
    }),
    { headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` } },
  );
  if (created.status !== 201)
    throw new Error(`seller product creation failed: ${created.status} ${String(created.body).slice(0, 200)}`);
  return { event, seller: { token, productId: String((created.json() as { id: string | number }).id) } };
}

export function browse(): void {
  browsePage(settings);
}

export function rush(data: DayData): void {
  if (data.event) claim(data.event, memberToken(tokens, duplicateRate), true);
}

export function member(data: DayData): void {
  const token = tokens[Math.floor(Math.random() * tokens.length)];
  const headers = { authorization: `Bearer ${token}` };
  const mine = http.get(`${BASE_URL}/api/members/me/coupons`, {
    headers,
    tags: { name: 'GET /api/members/me/coupons', endpoint: 'my-coupons' },
  });
  recordResponse(mine, 'my-coupons');
  check(mine, { 'my coupons: 200': (r) => r.status === 200 });
  if (data.event) {
    const path = `/api/events/${data.event.eventId}/coupons/${data.event.couponId}/issue`;
    const status = http.get(`${BASE_URL}${path}`, {
      headers,
      tags: { name: 'GET /api/events/:eventId/coupons/:couponId/issue', endpoint: 'claim-status' },
    });
    recordResponse(status, 'claim-status');
    check(status, {
      'claim status: NONE, PENDING or ISSUED': (r) =>
        r.status === 200 && ['NONE', 'PENDING', 'ISSUED'].includes(String((r.json() as { status?: string }).status)),
    });
  }
}

export function seller(data: DayData): void {
  if (!data.seller) return;
  const price = 10_000 + (exec.scenario.iterationInTest % 50) * 100;
  const response = http.patch(`${BASE_URL}/api/seller/products/${data.seller.productId}`, JSON.stringify({ price }), {
    headers: { 'content-type': 'application/json', authorization: `Bearer ${data.seller.token}` },
    tags: { name: 'PATCH /api/seller/products/:id', endpoint: 'seller-edit' },
  });
  recordResponse(response, 'seller-edit');
  check(response, {
    'seller edit: 200 with the new price': (r) => r.status === 200 && (r.json() as { price?: number }).price === price,
  });
}

export default browse;

export function teardown(data: DayData): void {
  if (data.seller) {
    const removed = http.del(`${BASE_URL}/api/seller/products/${data.seller.productId}`, null, {
      headers: { authorization: `Bearer ${data.seller.token}` },
    });
    if (removed.status !== 204) console.warn(`could not delete the mixed-day product: ${removed.status}`);
  }
  if (data.event) verifyStock(data.event);
}
