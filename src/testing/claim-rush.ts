/** The claim load generator of the rush tests and the coupon benchmark: many real HTTP claims at once. */
import { openApiChecker } from './openapi-check.js';

export interface ClaimOutcome {
  memberId: string;
  status: number;
  code?: string;
  /** x-served-by: which worker answered */
  servedBy?: string;
  /** Retry-After (429, 503) */
  retryAfter?: string;
  /** network failure (worker killed mid-request) */
  error?: string;
}

/** Each member 1..maxPerMember claims, shuffled; deterministic for a given seed. */
export function claimPlan(
  members: { id: string; accessToken: string }[],
  maxPerMember: number,
  seed = 42,
): { id: string; accessToken: string }[] {
  let state = seed;
  const random = () => (state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  const plan = members.flatMap((m) => Array.from({ length: 1 + Math.floor(random() * maxPerMember) }, () => m));
  for (let i = plan.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [plan[i], plan[j]] = [plan[j], plan[i]];
  }
  return plan;
}

/**
 * How long one claim may take. A rush sends thousands at once and the server interleaves them, so
 * they all finish near the end of the rush, not one after another: with 10 s, a loaded 2-core box
 * (a fresh machine's run at 135 claims/s) saw every one of 3,271 claims time out, though the server
 * was answering them. The rushes' assertions are on outcomes; this bound only catches a stuck claim.
 */
const CLAIM_TIMEOUT_MS = 45_000;

/** Sends claims concurrently over real HTTP; `waves` spreads them over time (wave every `gapMs`). */
export async function rush(
  baseUrl: string,
  eventId: string,
  couponId: string,
  plan: { id: string; accessToken: string }[],
  options: { waves?: number; gapMs?: number } = {},
): Promise<ClaimOutcome[]> {
  const waves = options.waves ?? 1;
  const size = Math.ceil(plan.length / waves);
  const url = `${baseUrl}/api/events/${eventId}/coupons/${couponId}/issue`;
  // Checked against the API document after the rush: validating thousands of answers while they
  // arrive takes CPU from the cluster under test on a 2-core machine.
  const answers: { status: number; headers: Headers; body: unknown }[] = [];
  const send = async (m: { id: string; accessToken: string }): Promise<ClaimOutcome> => {
    let response: Response;
    let text: string;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${m.accessToken}` },
        signal: AbortSignal.timeout(CLAIM_TIMEOUT_MS),
      });
      text = await response.text();
    } catch (error) {
      return { memberId: m.id, status: 0, error: String((error as Error).cause ?? error) };
    }
    let body: unknown = text || undefined;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: the contract check below says so
    }
    answers.push({ status: response.status, headers: response.headers, body });
    const code = (body as { code?: string } | undefined)?.code;
    return {
      memberId: m.id,
      status: response.status,
      code,
      servedBy: response.headers.get('x-served-by') ?? undefined,
      retryAfter: response.headers.get('retry-after') ?? undefined,
    };
  };
  const all: Promise<ClaimOutcome>[] = [];
  for (let w = 0; w < waves; w++) {
    all.push(...plan.slice(w * size, (w + 1) * size).map(send));
    if (w < waves - 1) await new Promise((resolve) => setTimeout(resolve, options.gapMs ?? 200));
  }
  const outcomes = await Promise.all(all);
  // An answer the API document does not describe fails the test.
  for (const answer of answers) openApiChecker().check('POST', url, answer.status, answer.headers, answer.body);
  return outcomes;
}

export function tally(outcomes: ClaimOutcome[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const o of outcomes) {
    const key =
      o.status === 0
        ? /timeout|abort/i.test(o.error ?? '')
          ? 'timeout'
          : 'network-error'
        : `${o.status}${o.code ? ` ${o.code}` : ''}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

/** One answer of `claimLoad`, with when it was sent and arrived, and which attempt of the member it was. */
export interface TimedClaimOutcome extends ClaimOutcome {
  sentAt: number;
  at: number;
  attempt: number;
}

/**
 * A sustained rush: `concurrency` keep-alive loops claim for `members`, one claim each, as fast as the
 * cluster answers (a closed loop, like the bench's). A member answered 503 (or cut off: a worker or Redis
 * gone) tries again after `retryDelayMs`, at most `attempts` times in all, as a client honouring
 * Retry-After would. Every answer is kept, timed, and checked against the API document afterwards.
 */
export async function claimLoad(
  baseUrl: string,
  eventId: string,
  couponId: string,
  members: { id: string; accessToken: string }[],
  options: { concurrency?: number; attempts?: number; retryDelayMs?: number } = {},
): Promise<TimedClaimOutcome[]> {
  const url = `${baseUrl}/api/events/${eventId}/coupons/${couponId}/issue`;
  const queue = members.map((member) => ({ member, attempt: 1 }));
  const outcomes: TimedClaimOutcome[] = [];
  const answers: { status: number; headers: Headers; body: unknown }[] = [];
  let inFlight = 0;
  const loop = async () => {
    for (;;) {
      const next = queue.shift();
      if (!next) {
        // Retries of other loops may still come back to the queue.
        if (inFlight === 0) return;
        await new Promise((resolve) => setTimeout(resolve, 20));
        continue;
      }
      inFlight++;
      const sentAt = Date.now();
      let outcome: ClaimOutcome;
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers: { authorization: `Bearer ${next.member.accessToken}` },
          signal: AbortSignal.timeout(CLAIM_TIMEOUT_MS),
        });
        const text = await response.text();
        let body: unknown = text || undefined;
        try {
          body = text ? JSON.parse(text) : undefined;
        } catch {
          // not JSON: the contract check says so
        }
        answers.push({ status: response.status, headers: response.headers, body });
        outcome = {
          memberId: next.member.id,
          status: response.status,
          code: (body as { code?: string } | undefined)?.code,
          servedBy: response.headers.get('x-served-by') ?? undefined,
          retryAfter: response.headers.get('retry-after') ?? undefined,
        };
      } catch (error) {
        outcome = { memberId: next.member.id, status: 0, error: String((error as Error).cause ?? error) };
      }
      outcomes.push({ ...outcome, sentAt, at: Date.now(), attempt: next.attempt });
      if ((outcome.status === 503 || outcome.status === 0) && next.attempt < (options.attempts ?? 30)) {
        // Still in flight (other loops wait for it) until it is back in the queue.
        await new Promise((resolve) => setTimeout(resolve, options.retryDelayMs ?? 200));
        queue.push({ member: next.member, attempt: next.attempt + 1 });
      }
      inFlight--;
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 64 }, loop));
  for (const answer of answers) openApiChecker().check('POST', url, answer.status, answer.headers, answer.body);
  return outcomes;
}
