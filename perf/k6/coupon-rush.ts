/**
 * Coupon rush: a spike of members claiming one first-come-first-served coupon. Open model
 * (ramping arrival rate): claims arrive at RUSH_RATE/s whatever the server's latency, ramping up in
 * RUSH_RAMP, holding RUSH_HOLD, down in RUSH_RAMP_DOWN. Each iteration is one claim by the next fresh
 * member of TOKENS_FILE (wrapping around once the file is used up), or with DUPLICATE_RATE by a
 * member seen before (a double click). Responses are classified: 202 accepted, 409 COUPON_SOLD_OUT,
 * 409 COUPON_ALREADY_ISSUED (and 403 EVENT_NOT_STARTED when START_EARLY_S > 0); anything else fails
 * the run. Setup waits for the event to open; teardown reads the remaining stock and fails the run
 * when more were accepted than the stock.
 * Prepare: npm run create-rush-event -- --stock 10000 --starts-in 60 --out /tmp/rush.json
 *          npm run mint-members -- --count 20000 --out /tmp/tokens.json
 * Run:     k6 run -e BASE_URL=… -e RUSH_EVENT_FILE=/tmp/rush.json -e TOKENS_FILE=/tmp/tokens.json perf/k6/coupon-rush.ts
 */
import { sleep } from 'k6';
import http from 'k6/http';
import type { Options } from 'k6/options';
import {
  claim,
  DUPLICATE_RATE,
  loadRushEvent,
  loadTokens,
  memberToken,
  verifyStock,
  type RushEvent,
} from './lib/coupons.ts';
import { duration, int } from './lib/env.ts';
import { noUnexpectedFailures, stockViolations } from './lib/metrics.ts';

const tokens = loadTokens();
const loaded = loadRushEvent();
if (!loaded)
  throw new Error(
    'coupon-rush needs RUSH_EVENT_FILE (npm run create-rush-event -- --out FILE) or EVENT_ID and COUPON_ID',
  );
if (tokens.length === 0)
  throw new Error('coupon-rush needs TOKENS_FILE (npm run mint-members -- --count N --out FILE)');
const event: RushEvent = loaded;
const startEarly = int('START_EARLY_S', 0);
const duplicateRate = DUPLICATE_RATE();

export const options: Options = {
  setupTimeout: '10m',
  teardownTimeout: '2m',
  scenarios: {
    rush: {
      executor: 'ramping-arrival-rate',
      startRate: 0,
      timeUnit: '1s',
      preAllocatedVUs: int('PRE_VUS', 500, 1),
      maxVUs: int('MAX_VUS', 3000, 1),
      stages: [
        { target: int('RUSH_RATE', 2000, 1), duration: duration('RUSH_RAMP', '5s') },
        { target: int('RUSH_RATE', 2000, 1), duration: duration('RUSH_HOLD', '20s') },
        { target: 0, duration: duration('RUSH_RAMP_DOWN', '5s') },
      ],
      gracefulStop: '10s',
      exec: 'rush',
    },
  },
  summaryTrendStats: ['avg', 'min', 'med', 'p(90)', 'p(95)', 'p(99)', 'max'],
  thresholds: {
    'http_req_duration{endpoint:claim}': [`p(95)<${int('P95_MS', 300)}`, `p(99)<${int('P99_MS', 1000)}`],
    // The client's count of 202s can never exceed the stock.
    coupon_claims_accepted: [`count<=${event.stock}`],
    coupon_claims_unexpected: ['count==0'],
    coupon_stock_violations: ['count==0'],
    http_req_failed: ['rate<0.001'],
    ...noUnexpectedFailures,
  },
};

// 409s (sold out, duplicate) and 429s (a throttled retry) are answers, not failures: keep them out of http_req_failed.
http.setResponseCallback(
  startEarly > 0 ? http.expectedStatuses(200, 202, 403, 409, 429) : http.expectedStatuses(200, 202, 409, 429),
);

export function setup(): RushEvent {
  stockViolations.add(0); // a sample, so the count==0 threshold is evaluated even on a clean run
  if (event.startsAt) {
    const wait = (Date.parse(event.startsAt) - Date.now()) / 1000 - startEarly;
    if (wait > 0) {
      console.log(
        `waiting ${wait.toFixed(1)} s for the event to open${startEarly > 0 ? ` (minus START_EARLY_S=${startEarly})` : ''}`,
      );
      sleep(wait);
    }
  }
  return event;
}

export function rush(data: RushEvent): void {
  claim(data, memberToken(tokens, duplicateRate), startEarly > 0);
}

export default rush;

export function teardown(data: RushEvent): void {
  verifyStock(data);
}
