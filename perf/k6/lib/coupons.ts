/**
 * Coupon rush pieces: the members' tokens (SharedArray: one copy for all VUs), the rush event,
 * one claim with its response classified, and the end-of-run stock check.
 */
import { check, sleep } from 'k6';
import { SharedArray } from 'k6/data';
import exec from 'k6/execution';
import http from 'k6/http';
import { BASE_URL, fraction, int, optionalText, text } from './env.ts';
import {
  claimsAccepted,
  claimsDuplicate,
  claimsSoldOut,
  claimsThrottled,
  claimsTooEarly,
  claimsUnexpected,
  couponIssuedByServer,
  couponRemaining,
  recordResponse,
  stockViolations,
} from './metrics.ts';

/**
 * Access tokens written by `npm run mint-members -- --count N --out FILE`. Accepted shapes: a JSON
 * array of tokens or of objects with `accessToken` (or `token`), an object with such an array under
 * `members`/`tokens`, JSON lines, or one token per line.
 */
export function parseTokens(content: string): string[] {
  const trimmed = content.trim();
  const fromEntry = (entry: unknown): string | undefined => {
    if (typeof entry === 'string') return entry;
    if (entry && typeof entry === 'object') {
      const record = entry as Record<string, unknown>;
      const token = record.accessToken ?? record.token;
      return typeof token === 'string' ? token : undefined;
    }
    return undefined;
  };
  let entries: unknown[];
  if (trimmed.startsWith('[')) entries = JSON.parse(trimmed) as unknown[];
  else if (trimmed.startsWith('{') && !trimmed.includes('\n')) {
    const record = JSON.parse(trimmed) as Record<string, unknown>;
    const list = record.members ?? record.tokens;
    entries = Array.isArray(list) ? list : [record];
  } else if (trimmed.startsWith('{')) {
    const whole = (() => {
      try {
        return JSON.parse(trimmed) as Record<string, unknown>;
      } catch {
        return null; // JSON lines
      }
    })();
    const list = whole ? (whole.members ?? whole.tokens) : undefined;
    entries = Array.isArray(list)
      ? list
      : trimmed
          .split('\n')
          .filter((line) => line.trim() !== '')
          .map((line) => JSON.parse(line) as unknown);
  } else
    entries = trimmed
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '');
  const tokens = entries.map(fromEntry).filter((token): token is string => token !== undefined && token !== '');
  if (tokens.length === 0) throw new Error('the tokens file holds no access token');
  return tokens;
}

/** Loads TOKENS_FILE once for every VU (an absolute path is safest: k6 resolves relative ones against the script). */
export function loadTokens(): string[] {
  const file = optionalText('TOKENS_FILE');
  if (!file) return [];
  return new SharedArray('member tokens', () => parseTokens(open(file))) as unknown as string[];
}

export interface RushEvent {
  eventId: string;
  couponId: string;
  /** the coupon's max issuance */
  stock: number;
  /** ISO time the event opens (claims before it get 403 EVENT_NOT_STARTED) */
  startsAt?: string;
  endsAt?: string;
}

/** RUSH_EVENT_FILE (written by `npm run create-rush-event -- --out FILE`) or EVENT_ID + COUPON_ID + STOCK. */
export function loadRushEvent(): RushEvent | null {
  const file = optionalText('RUSH_EVENT_FILE');
  if (file) {
    const parsed = JSON.parse(open(file)) as Partial<RushEvent>;
    if (!parsed.eventId || !parsed.couponId || typeof parsed.stock !== 'number')
      throw new Error(`${file}: expected {eventId, couponId, stock, startsAt}`);
    return {
      eventId: String(parsed.eventId),
      couponId: String(parsed.couponId),
      stock: parsed.stock,
      startsAt: parsed.startsAt,
      endsAt: parsed.endsAt,
    };
  }
  const eventId = optionalText('EVENT_ID');
  const couponId = optionalText('COUPON_ID');
  if (!eventId || !couponId) return null;
  return { eventId, couponId, stock: int('STOCK', 10_000, 1), startsAt: optionalText('EVENT_STARTS_AT') };
}

export type ClaimOutcome = 'accepted' | 'sold_out' | 'duplicate' | 'too_early' | 'throttled' | 'unexpected';

/** Classifies a claim response by status and error `code` (never by message text). */
export function classifyClaim(status: number, code: string | undefined, tooEarlyExpected: boolean): ClaimOutcome {
  if (status === 202) return 'accepted';
  if (status === 409 && code === 'COUPON_SOLD_OUT') return 'sold_out';
  if (status === 409 && code === 'COUPON_ALREADY_ISSUED') return 'duplicate';
  if (status === 403 && code === 'EVENT_NOT_STARTED' && tooEarlyExpected) return 'too_early';
  // A member who retries faster than its claim limit (or an address past nginx's): an answer, not a failure.
  if (status === 429 && code === 'TOO_MANY_REQUESTS') return 'throttled';
  return 'unexpected';
}

/** Picks the member of this iteration: a fresh one per iteration, or with `duplicateRate` one seen before (a double click). */
export function memberToken(tokens: readonly string[], duplicateRate: number): string {
  const n = exec.scenario.iterationInTest;
  const index =
    n > 0 && Math.random() < duplicateRate ? Math.floor(Math.random() * Math.min(n, tokens.length)) : n % tokens.length;
  return tokens[index];
}

/** One claim; counts it in the matching counter and returns the outcome. */
export function claim(event: RushEvent, token: string, tooEarlyExpected: boolean): ClaimOutcome {
  const response = http.post(`${BASE_URL}/api/events/${event.eventId}/coupons/${event.couponId}/issue`, null, {
    headers: { authorization: `Bearer ${token}` },
    tags: { name: 'POST /api/events/:eventId/coupons/:couponId/issue', endpoint: 'claim' },
  });
  let code: string | undefined;
  try {
    const body = response.json() as { code?: unknown } | null;
    code = body && typeof body.code === 'string' ? body.code : undefined;
  } catch {
    code = undefined;
  }
  const outcome = classifyClaim(response.status, code, tooEarlyExpected);
  const tags = { endpoint: 'claim' };
  if (outcome === 'accepted') claimsAccepted.add(1, tags);
  else if (outcome === 'sold_out') claimsSoldOut.add(1, tags);
  else if (outcome === 'duplicate') claimsDuplicate.add(1, tags);
  else if (outcome === 'too_early') claimsTooEarly.add(1, tags);
  else if (outcome === 'throttled') claimsThrottled.add(1, tags);
  else claimsUnexpected.add(1, { endpoint: 'claim', status: String(response.status), code: code ?? '' });
  recordResponse(response, 'claim', outcome === 'unexpected' ? [] : [response.status]);
  check(response, {
    'claim: 202, 409 COUPON_SOLD_OUT, 409 COUPON_ALREADY_ISSUED or 429 TOO_MANY_REQUESTS': () =>
      outcome !== 'unexpected',
  });
  return outcome;
}

/** Remaining stock of the rush coupon as GET /api/events/:id reports it (field name tolerant). */
export function readRemaining(event: RushEvent): { remaining: number; maxIssuance: number } | null {
  const response = http.get(`${BASE_URL}/api/events/${event.eventId}`, {
    tags: { name: 'GET /api/events/:eventId', endpoint: 'event' },
  });
  if (response.status !== 200) {
    console.error(`GET /api/events/${event.eventId} → ${response.status}: ${String(response.body).slice(0, 200)}`);
    return null;
  }
  const body = response.json() as { coupons?: Record<string, unknown>[] };
  const coupon = (body.coupons ?? []).find((c) => String(c.id) === event.couponId);
  if (!coupon) return null;
  const remaining = [coupon.remaining, coupon.remainingStock, coupon.stock].find((v) => typeof v === 'number') as
    number | undefined;
  const maxIssuance = typeof coupon.maxIssuance === 'number' ? coupon.maxIssuance : event.stock;
  return remaining === undefined ? null : { remaining, maxIssuance };
}

/**
 * k6's own REST API (on by default at localhost:6565) reports the run's counters so far: the
 * teardown reads how many claims were accepted (202) across all VUs from it.
 */
function acceptedSoFar(): number | null {
  const api = text('K6_API_URL', 'http://localhost:6565');
  const response = http.get(`${api}/v1/metrics/coupon_claims_accepted`, {
    tags: { name: 'k6 api' },
    responseCallback: http.expectedStatuses(200, 404),
  });
  if (response.status !== 200) return response.status === 404 ? 0 : null;
  const body = response.json() as { data?: { attributes?: { sample?: { count?: number } } } };
  return body.data?.attributes?.sample?.count ?? null;
}

/**
 * End of a rush: waits up to `drainSeconds` for the stock to settle, reports it as gauges, and
 * fails the run (a counter with a count==0 threshold, plus an exception) when more claims were
 * accepted than the stock, or the server issued more than the stock.
 */
export function verifyStock(event: RushEvent, drainSeconds = int('DRAIN_WAIT_S', 5)): void {
  sleep(Math.min(drainSeconds, 60));
  const state = readRemaining(event);
  const accepted = acceptedSoFar();
  if (!state) {
    console.warn(
      'could not read the remaining stock from GET /api/events/:id; only the coupon_claims_accepted threshold guards the stock',
    );
    return;
  }
  const issued = state.maxIssuance - state.remaining;
  couponRemaining.add(state.remaining);
  couponIssuedByServer.add(issued);
  const problems: string[] = [];
  if (state.remaining < 0) problems.push(`remaining stock is negative (${state.remaining})`);
  if (issued > state.maxIssuance) problems.push(`server issued ${issued} > max issuance ${state.maxIssuance}`);
  if (accepted !== null && accepted > state.maxIssuance)
    problems.push(`${accepted} claims accepted (202) > stock ${state.maxIssuance}`);
  if (accepted !== null && accepted > issued)
    problems.push(`${accepted} claims accepted (202) but the server counts only ${issued} issued`);
  console.log(
    `rush verdict: stock ${state.maxIssuance}, remaining ${state.remaining}, issued ${issued}, accepted by k6 ${accepted ?? 'unknown (k6 API off)'}`,
  );
  if (problems.length > 0) {
    stockViolations.add(problems.length);
    throw new Error(`coupon stock invariant broken: ${problems.join('; ')}`);
  }
}

export const DUPLICATE_RATE = () => fraction('DUPLICATE_RATE', 0.05);
