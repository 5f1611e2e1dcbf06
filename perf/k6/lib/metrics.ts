/**
 * Custom metrics shared by the scripts. k6 creates metrics in the init context, so they live at
 * module level. "Unexpected" means a response the scenario has no business seeing: a 5xx, a
 * transport error (status 0: refused, reset, timeout) or a status the endpoint never returns
 * for a well-formed request. A 409 in a coupon rush is expected and counted separately.
 */
import type { RefinedResponse, ResponseType } from 'k6/http';
import { Counter, Gauge } from 'k6/metrics';

/** 5xx responses: never acceptable (threshold count==0). */
export const serverErrors = new Counter('server_errors');
/** status 0: connection refused/reset or timed out. */
export const transportErrors = new Counter('transport_errors');
/** any other status the scenario does not expect (tagged with `endpoint`). */
export const unexpectedResponses = new Counter('unexpected_responses');

// Coupon claims, classified (coupon-rush.ts, mixed-day.ts).
export const claimsAccepted = new Counter('coupon_claims_accepted');
export const claimsSoldOut = new Counter('coupon_claims_sold_out');
export const claimsDuplicate = new Counter('coupon_claims_duplicate');
export const claimsTooEarly = new Counter('coupon_claims_too_early');
/** 429 TOO_MANY_REQUESTS (the member's claim limit, or nginx's per-address one): a throttled retry is expected in a rush. */
export const claimsThrottled = new Counter('coupon_claims_throttled');
export const claimsUnexpected = new Counter('coupon_claims_unexpected');
/** set by teardown: stock the server still reports after the rush, and how many it says it issued. */
export const couponRemaining = new Gauge('coupon_remaining_after_rush');
export const couponIssuedByServer = new Gauge('coupon_issued_by_server');
/** teardown adds 1 per broken invariant (more accepted than stock, negative remaining stock). */
export const stockViolations = new Counter('coupon_stock_violations');

/** Counts transport errors, 5xx and statuses outside `expected` (default: 200). Returns true when expected. */
export function recordResponse(
  response: RefinedResponse<ResponseType | undefined>,
  endpoint: string,
  expected: readonly number[] = [200],
): boolean {
  if (response.status === 0) {
    transportErrors.add(1, { endpoint });
    unexpectedResponses.add(1, { endpoint, status: '0' });
    return false;
  }
  if (response.status >= 500) serverErrors.add(1, { endpoint, status: String(response.status) });
  if (!expected.includes(response.status)) {
    unexpectedResponses.add(1, { endpoint, status: String(response.status) });
    return false;
  }
  return true;
}

/** Thresholds every script keeps: no 5xx, no transport error, no unexpected status. */
export const noUnexpectedFailures = {
  server_errors: ['count==0'],
  transport_errors: ['count==0'],
  unexpected_responses: ['count==0'],
};
