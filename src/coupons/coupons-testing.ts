import { MikroORM } from '@mikro-orm/mysql';
import type { AppConfig } from '../../config/env.js';
import { mintMembers, type MintedMember } from '../cli/mint-members.js';
import { MemberRole } from '../members/member.entity.js';
import type { HttpClient } from '../testing/http.js';
import { openApiChecker } from '../testing/openapi-check.js';

const HOUR = 3600_000;

/** An event body: running now unless told otherwise, one coupon of `max`. */
export function eventBody(options: { max?: number; startsIn?: number; endsIn?: number; coupons?: number } = {}) {
  const now = Date.now();
  const startsAt = new Date(now + (options.startsIn ?? -HOUR)).toISOString();
  const endsAt = new Date(now + (options.endsIn ?? HOUR)).toISOString();
  return {
    title: `Rush ${now}`,
    startsAt,
    endsAt,
    coupons: Array.from({ length: options.coupons ?? 1 }, (_, index) => ({
      name: `Coupon ${index + 1}`,
      discountType: 'FIXED_AMOUNT',
      discountValue: 1000,
      minimumProductPrice: 0,
      validFrom: startsAt,
      validUntil: endsAt,
      maxIssuance: options.max ?? 100,
    })),
  };
}

export async function createEvent(http: HttpClient, adminToken: string, body: ReturnType<typeof eventBody>): Promise<{ eventId: string; couponIds: string[] }> {
  const created = await http.post('/api/admin/events', body, adminToken);
  if (created.status !== 201) throw new Error(`event create: ${created.status} ${JSON.stringify(created.body)}`);
  return { eventId: created.body.id, couponIds: created.body.coupons.map((coupon: { id: string }) => coupon.id) };
}

/** Mints members straight into the test database (one hash, multi-row insert, local tokens). */
export async function mint(config: AppConfig, count: number, role = MemberRole.CUSTOMER): Promise<MintedMember[]> {
  const orm = await MikroORM.init((await import('../../config/mikro-orm.js')).ormOptions(config));
  try {
    return await mintMembers(orm, config, { count, role });
  } finally {
    await orm.close(true);
  }
}

/** Polls until `check` returns true or the time is up; returns whether it did. */
export async function eventually(check: () => Promise<boolean>, timeoutMs: number, everyMs = 100): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  return check();
}

export interface ClaimOutcome {
  memberId: string;
  status: number;
  code?: string;
  /** x-served-by: which worker answered */
  servedBy?: string;
  /** network failure (worker killed mid-request) */
  error?: string;
}

/** Each member 1..maxPerMember claims, shuffled; deterministic for a given seed. */
export function claimPlan(members: { id: string; accessToken: string }[], maxPerMember: number, seed = 42): { id: string; accessToken: string }[] {
  let state = seed;
  const random = () => ((state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
  const plan = members.flatMap((m) => Array.from({ length: 1 + Math.floor(random() * maxPerMember) }, () => m));
  for (let i = plan.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [plan[i], plan[j]] = [plan[j], plan[i]];
  }
  return plan;
}

/** Sends claims concurrently over real HTTP; `waves` spreads them over time (wave every `gapMs`). */
export async function rush(baseUrl: string, eventId: string, couponId: string, plan: { id: string; accessToken: string }[], options: { waves?: number; gapMs?: number } = {}): Promise<ClaimOutcome[]> {
  const waves = options.waves ?? 1;
  const size = Math.ceil(plan.length / waves);
  const url = `${baseUrl}/api/events/${eventId}/coupons/${couponId}/issue`;
  const send = async (m: { id: string; accessToken: string }): Promise<ClaimOutcome> => {
    let response: Response;
    let text: string;
    try {
      response = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${m.accessToken}` }, signal: AbortSignal.timeout(10_000) });
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
    // Outside the try: an answer the API document does not describe fails the test.
    openApiChecker().check('POST', url, response.status, response.headers, body);
    return { memberId: m.id, status: response.status, code: (body as { code?: string } | undefined)?.code, servedBy: response.headers.get('x-served-by') ?? undefined };
  };
  const all: Promise<ClaimOutcome>[] = [];
  for (let w = 0; w < waves; w++) {
    all.push(...plan.slice(w * size, (w + 1) * size).map(send));
    if (w < waves - 1) await new Promise((resolve) => setTimeout(resolve, options.gapMs ?? 200));
  }
  return Promise.all(all);
}

export function tally(outcomes: ClaimOutcome[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const o of outcomes) {
    const key = o.status === 0 ? (/timeout|abort/i.test(o.error ?? '') ? 'timeout' : 'network-error') : `${o.status}${o.code ? ` ${o.code}` : ''}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

export interface InvariantReport {
  rows: number;
  distinctMembers: number;
  redisMembers: number;
  pending: number;
  accepted202: number;
  missing202: string[];
}

/**
 * DESIGN.md invariants against MySQL and Redis once the drain is over: rows <= limit, one per
 * member, every 202 has its row, and Redis's claimed set is exactly MySQL's rows, nothing pending.
 */
export async function waitForDrainAndCheck(
  query: (sql: string, params: unknown[]) => Promise<{ member_id: string | number }[]>,
  redis: import('ioredis').Redis,
  prefix: string,
  couponId: string,
  outcomes: ClaimOutcome[],
  timeoutMs: number,
): Promise<InvariantReport & { rowMembers: Set<string>; redisSet: Set<string> }> {
  const { couponKeys } = await import('./claim-scripts.js');
  const keys = couponKeys(prefix, couponId);
  const read = async () => {
    const rows = await query('select member_id from member_coupon where coupon_id = ?', [couponId]);
    const rowMembers = new Set(rows.map((row) => String(row.member_id)));
    const redisSet = new Set(await redis.smembers(keys.members));
    const pending = await redis.zcard(keys.pending);
    return { rows: rows.length, rowMembers, redisSet, pending };
  };
  let state = await read();
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && (state.pending > 0 || state.rows !== state.redisSet.size)) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    state = await read();
  }
  const accepted = outcomes.filter((o) => o.status === 202).map((o) => o.memberId);
  return {
    ...state,
    distinctMembers: state.rowMembers.size,
    redisMembers: state.redisSet.size,
    accepted202: accepted.length,
    missing202: accepted.filter((id) => !state.rowMembers.has(id)),
  };
}
