import type { Redis } from 'ioredis';

/** The Lua scripts of coupon stock (used only by CouponStock, which owns the keys they run on). */

export const enum ClaimResult {
  ACCEPTED = 0,
  DUPLICATE = 1,
  SOLD_OUT = 2,
  /** The member is over the claim rate limit: nothing decided. */
  THROTTLED = 3,
  /**
   * The coupon's state is missing, or was last reconciled with MySQL on another Redis server (a restart,
   * a failover, a restored backup): nothing decided, nothing counted; reconcile, then claim again.
   */
  NOT_RECONCILED = -1,
}

/**
 * The epoch a coupon's state is stamped with when it is reconciled with MySQL: the run id of the Redis
 * server the script runs on. A restart, a failover to another node and a restored backup all bring a
 * new run id, so a state that came back with older data (stamped by the server that wrote it) is never
 * decided on before it has been reconciled again. Read by the script itself, on the server that runs
 * it: no client can pass an epoch that belongs to another server (a command queued before a reconnect
 * and sent after it). INFO server costs the script ~1.5 us inside Redis.
 */
const SERVER_EPOCH = `
local function server_epoch()
  return string.match(redis.call('INFO', 'server'), 'run_id:(%x+)')
end
`;

/**
 * The state's limit when it is present and reconciled on this server (and the server's epoch), else nil.
 */
const RECONCILED_MAX = `${SERVER_EPOCH}
local function reconciled_max(state_key)
  local state = redis.call('HMGET', state_key, 'max', 'epoch')
  local epoch = server_epoch()
  if not state[1] or state[2] ~= epoch then return nil end
  return tonumber(state[1]), epoch
end
`;

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
 * Returns { ClaimResult, ms left in the limit's window (THROTTLED only, else 0), the server's epoch (its
 * run id: which server's replicas must acknowledge the decision; '' when NOT_RECONCILED) }.
 */
const CLAIM = `${RECONCILED_MAX}
local max, epoch = reconciled_max(KEYS[1])
if not max then return {-1, 0, ''} end
local limit = tonumber(ARGV[4])
if limit > 0 then
  local counted = redis.call('INCR', KEYS[6])
  local ttl = redis.call('PTTL', KEYS[6])
  if ttl < 0 then
    redis.call('PEXPIRE', KEYS[6], ARGV[5])
    ttl = tonumber(ARGV[5])
  end
  if counted > limit then return {3, ttl, epoch} end
end
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then return {1, 0, epoch} end
if redis.call('SCARD', KEYS[2]) >= max then return {2, 0, epoch} end
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
redis.call('SADD', KEYS[4], ARGV[3])
if redis.call('INCR', KEYS[5]) == 1 then redis.call('EXPIRE', KEYS[5], 120) end
return {0, 0, epoch}
`;

/**
 * The last step of a reconciliation (CouponStock.reconcile has already added MySQL's members): the
 * pending claims join the issued set, and a state that is missing or stamped by another server gets the
 * limit from MySQL and this server's epoch. Members are only ever added, never removed: a member once
 * accepted can never claim again, and the issued count never goes down. A state already reconciled on
 * this server keeps its limit (an admin's setMax may have changed it since MySQL was read).
 * `stampOnly` (COUPON_RECONCILE=false, a demonstration of what reconciliation prevents): a present but
 * stale state is stamped as it is, without the pending claims; a missing one is still rebuilt.
 * KEYS: state, members, pending. ARGV: max, stampOnly (0|1).
 * Returns { members added from the pending set, issued after, 1 when the state was missing or stale }.
 */
const RECONCILE = `${SERVER_EPOCH}
local epoch = server_epoch()
local state = redis.call('HMGET', KEYS[1], 'max', 'epoch')
local stale = (not state[1]) or state[2] ~= epoch
local added = 0
if not (ARGV[2] == '1' and state[1]) then
  local pending = redis.call('ZRANGE', KEYS[3], 0, -1)
  for i = 1, #pending, 1000 do
    added = added + redis.call('SADD', KEYS[2], unpack(pending, i, math.min(i + 999, #pending)))
  end
end
if stale then redis.call('HSET', KEYS[1], 'max', ARGV[1], 'epoch', epoch) end
return {added, redis.call('SCARD', KEYS[2]), stale and 1 or 0}
`;

/** 1 when the coupon's state is present and reconciled on this server, else 0. KEYS: state. */
const RECONCILED = `${RECONCILED_MAX}
return reconciled_max(KEYS[1]) and 1 or 0
`;

/**
 * Remaining stock, only from a state reconciled on this server. KEYS: state, members.
 * Returns max - issued (never below 0), or -1 when the state is missing or not reconciled here.
 */
const REMAINING = `${RECONCILED_MAX}
local max = reconciled_max(KEYS[1])
if not max then return -1 end
return math.max(0, max - redis.call('SCARD', KEYS[2]))
`;

/**
 * Changes the limit atomically with the claims: refused (returns the issued count) when
 * more are already issued than the new limit. Returns -1 on success, -2 if the state is missing or
 * not reconciled on this server (its issued count may be behind MySQL).
 * KEYS: state, members. ARGV: newMax.
 */
const SET_MAX = `${RECONCILED_MAX}
if not reconciled_max(KEYS[1]) then return -2 end
local issued = redis.call('SCARD', KEYS[2])
if issued > tonumber(ARGV[1]) then return issued end
redis.call('HSET', KEYS[1], 'max', ARGV[1])
return -1
`;

/**
 * Clears claims' pending marks and their claim -> job entries (in the same step, so no entry outlives
 * its mark); drops the coupon from the index when none is left. `persisted` (their rows are in MySQL):
 * the members are also added to the issued set, where they already are unless Redis lost them (a row
 * written from a job of the Redis before a restart or failover): Redis is never left behind MySQL.
 * KEYS: pending, pendingIndex, jobs, members. ARGV: couponId, persisted (0|1), memberId...
 */
const CLEAR_PENDING = `
for i = 3, #ARGV, 1000 do
  local last = math.min(i + 999, #ARGV)
  redis.call('ZREM', KEYS[1], unpack(ARGV, i, last))
  redis.call('HDEL', KEYS[3], unpack(ARGV, i, last))
  if ARGV[2] == '1' then redis.call('SADD', KEYS[4], unpack(ARGV, i, last)) end
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
  ): Promise<[ClaimResult, number, string]>;
  couponReconcile(
    state: string,
    members: string,
    pending: string,
    max: number,
    stampOnly: 0 | 1,
  ): Promise<[added: number, issued: number, stale: 0 | 1]>;
  couponReconciled(state: string): Promise<0 | 1>;
  couponRemaining(state: string, members: string): Promise<number>;
  couponSetMax(state: string, members: string, max: number): Promise<number>;
  couponClearPending(
    pending: string,
    pendingIndex: string,
    jobs: string,
    members: string,
    couponId: string,
    persisted: 0 | 1,
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
    redis.defineCommand('couponReconcile', { numberOfKeys: 3, lua: RECONCILE });
    redis.defineCommand('couponReconciled', { numberOfKeys: 1, lua: RECONCILED });
    redis.defineCommand('couponRemaining', { numberOfKeys: 2, lua: REMAINING });
    redis.defineCommand('couponSetMax', { numberOfKeys: 2, lua: SET_MAX });
    redis.defineCommand('couponClearPending', { numberOfKeys: 4, lua: CLEAR_PENDING });
    redis.defineCommand('couponUnlock', { numberOfKeys: 1, lua: UNLOCK });
  }
  return target;
}
