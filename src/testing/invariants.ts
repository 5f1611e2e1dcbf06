import type { SqlEntityManager } from '@mikro-orm/mysql';
import type { Redis } from 'ioredis';
import { couponKeys } from '../coupons/coupon-stock.js';
import type { ClaimOutcome } from './claim-rush.js';

/** Rows of the coupon in MySQL (member_coupon), read in a fork of `em`. */
export async function persistedRows(em: SqlEntityManager, couponId: string): Promise<number> {
  const [row] = await em
    .fork()
    .getConnection()
    .execute<{ n: number | string }[]>('select count(*) n from member_coupon where coupon_id = ?', [couponId]);
  return Number(row.n);
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
 * docs/design.md invariants against MySQL and Redis once the drain is over: rows <= limit, one per
 * member, every 202 has its row, and Redis's claimed set is exactly MySQL's rows, nothing pending.
 */
export async function waitForDrainAndCheck(
  query: (sql: string, params: unknown[]) => Promise<{ member_id: string | number }[]>,
  redis: Redis,
  prefix: string,
  couponId: string,
  outcomes: ClaimOutcome[],
  timeoutMs: number,
): Promise<InvariantReport & { rowMembers: Set<string>; redisSet: Set<string> }> {
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
