import { LuaScript } from '../redis/lua-script.js';
import { SERVER_RUN_ID_LUA } from '../redis/redis-server.js';

/** The Lua scripts of coupon stock (run only by CouponStock, which owns the keys they run on). */

/** The claim script's decisions: `local ACCEPTED = 0` … in its Lua, ClaimDecision.result here. */
export const ClaimResult = {
  ACCEPTED: 0,
  DUPLICATE: 1,
  SOLD_OUT: 2,
  /** The member is over the claim rate limit: nothing decided. */
  THROTTLED: 3,
  /**
   * The coupon's state is missing, or was last reconciled with MySQL on another Redis server (a restart,
   * a failover, a restored backup): nothing decided, nothing counted; reconcile, then claim again.
   */
  NOT_RECONCILED: -1,
} as const;
export type ClaimResult = (typeof ClaimResult)[keyof typeof ClaimResult];

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
  return ${SERVER_RUN_ID_LUA}
end
`;

/**
 * The state's limit when it is present and reconciled on this server (and the server's epoch), else nil.
 */
const RECONCILED_MAX = `${SERVER_EPOCH}
local function reconciled_max(state_key)
  local current = redis.call('HMGET', state_key, 'max', 'epoch')
  local epoch = server_epoch()
  if not current[1] or current[2] ~= epoch then return nil end
  return tonumber(current[1]), epoch
end
`;

/** What the claim script decided (its reply), and which server decided it. */
export interface ClaimDecision {
  result: ClaimResult;
  /** The ms left in the limit's window when THROTTLED, else 0. */
  retryInMs: number;
  /** The run id of the server that decided: its replicas must hold the decision (ReplicaAcks); '' when NOT_RECONCILED. */
  epoch: string;
}

/**
 * The whole claim decision in one atomic step, with the member's rate limit counted in the same
 * round trip (one Redis call per claim; a separate limiter call cost ~20% of a worker's CPU per
 * claim). A rejection writes nothing but the limit's count, so a member refused for any reason is
 * never locked out. An acceptance also counts itself in the coupon's counter of this second (`rate`,
 * read by the admin status as claims per second; expires after 2 min).
 * The limit (`limitCounter`, `limit` requests per `windowMs`; left out when throttling is off) counts
 * as rate-limiter-flexible's RateLimiterRedis does, on the same key: a fixed window, INCR, and the
 * window's expiry set by its first request.
 */
export const couponClaim = new LuaScript({
  name: 'couponClaim',
  keys: ['state', 'members', 'pending', 'pendingIndex', 'rate', 'limitCounter?'],
  args: ['memberId', 'nowMs', 'couponId', 'limit?', 'windowMs?'],
  codes: ClaimResult,
  lua: `${RECONCILED_MAX}
local max, epoch = reconciled_max(state)
if not max then return {NOT_RECONCILED, 0, ''} end
if limitCounter then
  local counted = redis.call('INCR', limitCounter)
  local ttl = redis.call('PTTL', limitCounter)
  if ttl < 0 then
    redis.call('PEXPIRE', limitCounter, windowMs)
    ttl = tonumber(windowMs)
  end
  if counted > tonumber(limit) then return {THROTTLED, ttl, epoch} end
end
if redis.call('SISMEMBER', members, memberId) == 1 then return {DUPLICATE, 0, epoch} end
if redis.call('SCARD', members) >= max then return {SOLD_OUT, 0, epoch} end
redis.call('SADD', members, memberId)
redis.call('ZADD', pending, nowMs, memberId)
redis.call('SADD', pendingIndex, couponId)
if redis.call('INCR', rate) == 1 then redis.call('EXPIRE', rate, 120) end
return {ACCEPTED, 0, epoch}`,
  reply: ([result, retryInMs, epoch]: [ClaimResult, number, string]): ClaimDecision => ({ result, retryInMs, epoch }),
});

/**
 * The last step of a reconciliation (CouponStock.reconcile has already added MySQL's members): the
 * pending claims join the issued set, and a state that is missing or stamped by another server gets the
 * limit from MySQL (`max`) and this server's epoch. Members are only ever added, never removed: a member
 * once accepted can never claim again, and the issued count never goes down. A state already reconciled
 * on this server keeps its limit (an admin's setMax may have changed it since MySQL was read).
 * `stampOnly` (COUPON_RECONCILE=false, a demonstration of what reconciliation prevents): a present but
 * stale state is stamped as it is, without the pending claims; a missing one is still rebuilt.
 */
export const couponReconcile = new LuaScript({
  name: 'couponReconcile',
  keys: ['state', 'members', 'pending'],
  args: ['max', 'stampOnly'],
  lua: `${SERVER_EPOCH}
local epoch = server_epoch()
local current = redis.call('HMGET', state, 'max', 'epoch')
local stale = (not current[1]) or current[2] ~= epoch
local added = 0
if not (stampOnly == '1' and current[1]) then
  local pendingMembers = redis.call('ZRANGE', pending, 0, -1)
  for i = 1, #pendingMembers, 1000 do
    added = added + redis.call('SADD', members, unpack(pendingMembers, i, math.min(i + 999, #pendingMembers)))
  end
end
if stale then redis.call('HSET', state, 'max', max, 'epoch', epoch) end
return {added, redis.call('SCARD', members), stale and 1 or 0}`,
  /** members added from the pending set, issued after, whether the state was missing or stale */
  reply: ([added, issued, stale]: [number, number, 0 | 1]) => ({ added, issued, stale: stale === 1 }),
});

/** Whether the coupon's state is present and reconciled on this server. */
export const couponReconciled = new LuaScript({
  name: 'couponReconciled',
  keys: ['state'],
  args: [],
  lua: `${RECONCILED_MAX}
return reconciled_max(state) and 1 or 0`,
  reply: (reconciled: 0 | 1) => reconciled === 1,
});

/** What couponRemaining answers besides a count (never below 0). */
export const RemainingResult = { NOT_RECONCILED: -1 } as const;

/** Remaining stock (max - issued, never below 0), only from a state reconciled on this server. */
export const couponRemaining = new LuaScript({
  name: 'couponRemaining',
  keys: ['state', 'members'],
  args: [],
  codes: RemainingResult,
  lua: `${RECONCILED_MAX}
local max = reconciled_max(state)
if not max then return NOT_RECONCILED end
return math.max(0, max - redis.call('SCARD', members))`,
  reply: (remaining: number) => remaining,
});

/** What couponSetMax answers besides the issued count (>= 0: refused, more are issued than `newMax`). */
export const SetMaxResult = {
  DONE: -1,
  /** The state is missing or not reconciled on this server (its issued count may be behind MySQL). */
  NOT_RECONCILED: -2,
} as const;

/** Changes the limit atomically with the claims: refused (the issued count) when more are already issued. */
export const couponSetMax = new LuaScript({
  name: 'couponSetMax',
  keys: ['state', 'members'],
  args: ['newMax'],
  codes: SetMaxResult,
  lua: `${RECONCILED_MAX}
if not reconciled_max(state) then return NOT_RECONCILED end
local issued = redis.call('SCARD', members)
if issued > tonumber(newMax) then return issued end
redis.call('HSET', state, 'max', newMax)
return DONE`,
  reply: (result: number) => result,
});

/**
 * Clears claims' pending marks and their claim -> job entries (in the same step, so no entry outlives
 * its mark); drops the coupon from the index when none is left. `persisted` (1: their rows are in
 * MySQL): the members are also added to the issued set, where they already are unless Redis lost them
 * (a row written from a job of the Redis before a restart or failover): Redis is never left behind MySQL.
 * 0: the claims are voided (they can never become rows): the members leave the issued set, their slots
 * freed, in the same step as their marks.
 */
export const couponClearPending = new LuaScript({
  name: 'couponClearPending',
  keys: ['pending', 'pendingIndex', 'jobs', 'members'],
  args: ['couponId', 'persisted', '...memberIds'],
  lua: `
for i = memberIdsFrom, #ARGV, 1000 do
  local last = math.min(i + 999, #ARGV)
  redis.call('ZREM', pending, unpack(ARGV, i, last))
  redis.call('HDEL', jobs, unpack(ARGV, i, last))
  if persisted == '1' then
    redis.call('SADD', members, unpack(ARGV, i, last))
  else
    redis.call('SREM', members, unpack(ARGV, i, last))
  end
end
if redis.call('ZCARD', pending) == 0 then redis.call('SREM', pendingIndex, couponId) end
return 1`,
  reply: () => undefined,
});

/** Deletes a lock only if we still hold it (`token`); whether it did. */
export const couponUnlock = new LuaScript({
  name: 'couponUnlock',
  keys: ['lock'],
  args: ['token'],
  lua: `
if redis.call('GET', lock) == token then return redis.call('DEL', lock) end
return 0`,
  reply: (deleted: number) => deleted === 1,
});

/** Every script above: CouponStock defines them on its client when it is made. */
export const COUPON_SCRIPTS = [
  couponClaim,
  couponReconcile,
  couponReconciled,
  couponRemaining,
  couponSetMax,
  couponClearPending,
  couponUnlock,
] as const;
