/**
 * Catalog browse: shoppers paging through the product list (sorts, categories, `next` cursor) and
 * opening products. SCENARIO picks the load model:
 *   closed  VUS virtual users looping for DURATION: the original's nGrinder run (1,000 VUs, 2 min)
 *   open    an arrival rate of page views (RATE/s for RATE_DURATION after a RAMP): latency that is
 *           not hidden by coordinated omission, since a slow server does not slow the arrivals
 *   both    closed, then open after it
 * Run: k6 run -e BASE_URL=http://127.0.0.1:3000 perf/k6/catalog-browse.ts   (see perf/k6/README.md)
 */
import { sleep } from 'k6';
import type { Options, Scenario } from 'k6/options';
import { browsePage } from './lib/catalog.ts';
import { duration, fraction, int, num, oneOf, seconds } from './lib/env.ts';
import { noUnexpectedFailures } from './lib/metrics.ts';

const model = oneOf('SCENARIO', ['closed', 'open', 'both'] as const, 'closed');
const vus = int('VUS', 1000, 1);
const closedDuration = duration('DURATION', '2m');
const rate = int('RATE', 2000, 1);
const ramp = duration('RAMP', '15s');
const rateDuration = duration('RATE_DURATION', '2m');
const thinkSeconds = num('THINK_S', 0);
const settings = { maxPages: int('MAX_PAGES', 5, 1), detailRate: fraction('DETAIL_RATE', 0.2) };

const scenarios: Record<string, Scenario> = {};
if (model === 'closed' || model === 'both') {
  scenarios.closed = { executor: 'constant-vus', vus, duration: closedDuration, gracefulStop: '10s', exec: 'shop' };
}
if (model === 'open' || model === 'both') {
  scenarios.open = {
    executor: 'ramping-arrival-rate',
    startTime: model === 'both' ? `${seconds(closedDuration) + 10}s` : '0s',
    startRate: 0,
    timeUnit: '1s',
    preAllocatedVUs: int('PRE_VUS', 200, 1),
    maxVUs: int('MAX_VUS', 2000, 1),
    stages: [
      { target: rate, duration: ramp },
      { target: rate, duration: rateDuration },
    ],
    gracefulStop: '10s',
    exec: 'shop',
  };
}

export const options: Options = {
  scenarios,
  // Cursor URLs are all different: requests are grouped by the `name` tag instead.
  summaryTrendStats: ['avg', 'min', 'med', 'p(90)', 'p(95)', 'p(99)', 'max'],
  thresholds: {
    'http_req_duration{endpoint:list}': [
      `p(95)<${int('P95_MS', 200)}`,
      `p(99)<${int('P99_MS', 500)}`,
      `avg<${int('AVG_MS', 58)}`,
    ],
    'http_req_duration{endpoint:detail}': [`p(95)<${int('P95_MS', 200)}`, `p(99)<${int('P99_MS', 500)}`],
    http_req_failed: ['rate<0.001'],
    checks: ['rate>0.999'],
    ...noUnexpectedFailures,
  },
};

export function shop(): void {
  browsePage(settings);
  if (thinkSeconds > 0) sleep(thinkSeconds * (0.5 + Math.random()));
}

export default shop;
