import type { Redis } from 'ioredis';

/** The Lua scripts of coupon stock (used only by CouponStock, which owns the keys they run on). */

export const enum ClaimResult {
  ACCEPTED = 0,
  DUPLICATE = 1,
  SOLD_OUT = 2,
  /** The member is over the claim rate limit: nothing decided. */
  THROTTLED = 3,
  STATE_MISSING = -1,
}

/**
 * The whole claim decision in one atomic step, with the member's rate limit counted in the same
 * round trip (one Redis call per claim; a separate limiter call cost ~20% of a worker's CPU per
 * claim). A rejection writes nothing but the limit's count, so a member refused for any reason is
 * never locked out. An acceptance also counts itself in the coupon's counter of this second (read by
 * the admin status as claims per second; expires after 2 min).
 * The limit counts as rate-limiter-flexible's RateLimiterRedis does, on the same key (a fixed window:
 * INCR, and the window's expiry set by the first request); limit 0: not counted.
 * KEYS: state, members, pending, pendingIndex, rate (this second), limit counter.
 * ARGV: memberId, nowMs, couponId, limit (requests per window), window (ms).
 * Returns { ClaimResult, ms left in the limit's window (THROTTLED only, else 0) }.
 */
const CLAIM = `
if redis.call('EXISTS', KEYS[1]) == 0 then return {-1, 0} end
local limit = tonumber(ARGV[4])
if limit > 0 then
  local counted = redis.call('INCR', KEYS[6])
  local ttl = redis.call('PTTL', KEYS[6])
  if ttl < 0 then
    redis.call('PEXPIRE', KEYS[6], ARGV[5])
    ttl = tonumber(ARGV[5])
  end
  if counted > limit then return {3, ttl} end
end
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then return {1, 0} end
local max = tonumber(redis.call('HGET', KEYS[1], 'max'))
if redis.call('SCARD', KEYS[2]) >= max then return {2, 0} end
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
redis.call('SADD', KEYS[4], ARGV[3])
if redis.call('INCR', KEYS[5]) == 1 then redis.call('EXPIRE', KEYS[5], 120) end
return {0, 0}
`;

/**
 * Restores a coupon's state (after data loss) from MySQL's rows plus the pending claims.
 * Unless forced, does nothing when the state already exists (another worker rebuilt it).
 * Members are only ever added, never removed: a member once accepted can never claim again.
 * KEYS: state, members, pending. ARGV: max, force(0|1), memberId...
 * Returns the issued count after the rebuild, or -1 when it was already present.
 */
const REBUILD = `
if ARGV[2] ~= '1' and redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
for i = 3, #ARGV, 1000 do
  redis.call('SADD', KEYS[2], unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
local pending = redis.call('ZRANGE', KEYS[3], 0, -1)
for i = 1, #pending, 1000 do
  redis.call('SADD', KEYS[2], unpack(pending, i, math.min(i + 999, #pending)))
end
redis.call('HSET', KEYS[1], 'max', ARGV[1])
return redis.call('SCARD', KEYS[2])
`;

/**
 * Changes the limit atomically with the claims: refused (returns the issued count) when
 * more are already issued than the new limit. Returns -1 on success, -2 if the state is missing.
 * KEYS: state, members. ARGV: newMax.
 */
const SET_MAX = `
if redis.call('EXISTS', KEYS[1]) == 0 then return -2 end
local issued = redis.call('SCARD', KEYS[2])
if issued > tonumber(ARGV[1]) then return issued end
redis.call('HSET', KEYS[1], 'max', ARGV[1])
return -1
`;

/**
 * Clears persisted claims' pending marks and their claim -> job entries (in the same step, so no
 * entry outlives its mark); drops the coupon from the index when none is left.
 * KEYS: pending, pendingIndex, jobs. ARGV: couponId, memberId...
 */
const CLEAR_PENDING = `
for i = 2, #ARGV, 1000 do
  local last = math.min(i + 999, #ARGV)
  redis.call('ZREM', KEYS[1], unpack(ARGV, i, last))
  redis.call('HDEL', KEYS[3], unpack(ARGV, i, last))
end
if redis.call('ZCARD', KEYS[1]) == 0 then redis.call('SREM', KEYS[2], ARGV[1]) end
return 1
`;

/** Deletes a lock only if we still hold it. KEYS: lock. ARGV: token. */
const UNLOCK = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

export interface ClaimCommands {
  couponClaim(
    state: string,
    members: string,
    pending: string,
    pendingIndex: string,
    rate: string,
    limitCounter: string,
    memberId: string,
    nowMs: number,
    couponId: string,
    limit: number,
    windowMs: number,
  ): Promise<[ClaimResult, number]>;
  couponRebuild(
    state: string,
    members: string,
    pending: string,
    max: number,
    force: 0 | 1,
    ...memberIds: string[]
  ): Promise<number>;
  couponSetMax(state: string, members: string, max: number): Promise<number>;
  couponClearPending(
    pending: string,
    pendingIndex: string,
    jobs: string,
    couponId: string,
    ...memberIds: string[]
  ): Promise<number>;
  couponUnlock(lock: string, token: string): Promise<number>;
}

export type ClaimRedis = Redis & ClaimCommands;

/**
 * Registers the scripts on a client with `defineCommand`: ioredis sends EVALSHA and falls
 * back to EVAL on NOSCRIPT, so a Redis restart or SCRIPT FLUSH is survived. Idempotent.
 */
export function defineClaimCommands(redis: Redis): ClaimRedis {
  const target = redis as ClaimRedis;
  if (typeof target.couponClaim !== 'function') {
    redis.defineCommand('couponClaim', { numberOfKeys: 6, lua: CLAIM });
    redis.defineCommand('couponRebuild', { numberOfKeys: 3, lua: REBUILD });
    redis.defineCommand('couponSetMax', { numberOfKeys: 2, lua: SET_MAX });
    redis.defineCommand('couponClearPending', { numberOfKeys: 3, lua: CLEAR_PENDING });
    redis.defineCommand('couponUnlock', { numberOfKeys: 1, lua: UNLOCK });
  }
  return target;
}
