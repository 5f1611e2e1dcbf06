import { EntityManager } from '@mikro-orm/mysql';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import type { AppConfig } from '../../config/env.js';
import { APP_CONFIG } from '../common/config.module.js';
import { redisServerFacts } from '../redis/redis-server.js';
import { AppError } from '../common/errors.js';
import type { ScriptCounter } from '../throttle/claim-limit.js';
import {
  ClaimResult,
  COUPON_SCRIPTS,
  couponClaim,
  couponClearPending,
  couponReconcile,
  couponReconciled,
  couponRemaining,
  couponSetMax,
  couponUnlock,
  RemainingResult,
  SetMaxResult,
  type ClaimDecision,
} from './claim-scripts.js';
import { reconcileRestored, stateRebuilds } from './coupon.metrics.js';
import { Coupon } from './coupon.entity.js';
import { MemberCoupon } from './member-coupon.entity.js';

/**
 * Redis state of one coupon (hash tag `{id}` keeps a coupon's keys in one slot; the claim script
 * also writes the pending index, another slot, so Pick runs on one Redis primary, not a Redis Cluster):
 * - `state`   hash { max, epoch }: Redis decides on it only while `epoch` is the run id of the server
 *             the script runs on (stamped when the state was last reconciled with MySQL there).
 * - `members` set of member ids whose claim was accepted (pending or persisted). Its size is
 *             the issued count: remaining = max - SCARD(members).
 * - `pending` sorted set member id -> accept time (ms): accepted, not yet in MySQL.
 * - `jobs`    hash member id -> id of the batch job carrying the pending claim (written before the
 *             job is added, deleted with the pending mark): the sweeper re-enqueues exactly the
 *             claims whose job is gone. A claim without an entry (accepted by a release before
 *             batching, or a worker killed before writing it) is looked up as a single-claim job.
 */
export interface CouponKeys {
  state: string;
  members: string;
  pending: string;
  jobs: string;
  rebuildLock: string;
}

export function couponKeys(prefix: string, couponId: string): CouponKeys {
  const base = `${prefix}:coupon:{${couponId}}`;
  return {
    state: `${base}:state`,
    members: `${base}:members`,
    pending: `${base}:pending`,
    jobs: `${base}:jobs`,
    rebuildLock: `${base}:rebuild-lock`,
  };
}

/** Accepted claims of one coupon in one second (`second` = epoch ms / 1000, floored); expires after 2 min. */
export const rateKey = (prefix: string, couponId: string, second: number) =>
  `${prefix}:coupon:{${couponId}}:rate:${second}`;

/** What Redis holds about one coupon right now (the admin status and the metrics read it). */
export interface CouponRedisStatus {
  couponId: string;
  /** false: no state in Redis (never initialised, or lost; rebuilt on the next claim or sweep) */
  stateInRedis: boolean;
  /** the state was reconciled with MySQL on this Redis server (else the next claim reconciles it first) */
  reconciled: boolean;
  /** limit in Redis (null without state) */
  max: number | null;
  /** accepted claims (pending or persisted) */
  issued: number;
  pending: number;
  /** age of the oldest pending claim, ms (null when none is pending) */
  oldestPendingAgeMs: number | null;
  /** claims accepted in this second and the 59 before it */
  acceptedLastMinute: number;
}

/**
 * Redis and MySQL agree on a coupon: its state is reconciled on this Redis server and every accepted
 * claim is a row or pending (`rows` read at about the same time: a claim persisted between the two
 * reads can make it false for that instant, never for long).
 */
export const consistentWith = (status: CouponRedisStatus, rows: number) =>
  status.reconciled && status.issued === rows + status.pending;

/** The coupons that may have pending claims (for the sweeper): one set for the deployment. */
export const pendingIndexKey = (prefix: string) => `${prefix}:coupons:pending-index`;

export { ClaimResult, type ClaimDecision };

/** What one reconciliation of a coupon's Redis state with MySQL did. */
export interface ReconcileOutcome {
  couponId: string;
  /** false: already reconciled on this Redis server (by another process meanwhile): nothing done */
  reconciled: boolean;
  /** the state was missing, or stamped by another Redis server (a restart, a failover, a restore) */
  stale: boolean;
  /** members with a row in MySQL or a pending claim that the issued set had lost: now back in it */
  restored: number;
  /** the issued count after it (never lower than before) */
  issued: number;
  /** member_coupon rows read (0 when nothing was done) */
  rows: number;
  max: number;
  /** how long it took, lock wait included */
  tookMs: number;
}

/** Members per SADD while a reconciliation adds MySQL's rows: Redis is never blocked for long. */
const RECONCILE_CHUNK = 5_000;

const REBUILD_LOCK_MS = 15_000;
/** A claim waits this long at most for another process's reconciliation of its coupon, then 503. */
const WAIT_FOR_OTHER_REBUILD_MS = 5_000;

/**
 * The one owner of coupon stock in Redis: the client with the claim scripts, the key layout,
 * initialisation and rebuild. The claim path, the admin writes, the issuance processor, the
 * sweeper and `npm run rebuild-coupons` all go through it.
 */
@Injectable()
export class CouponStock {
  private readonly logger = new Logger('CouponStock');
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly reconcileEnabled: boolean;

  constructor(
    redis: Redis,
    private readonly em: EntityManager,
    @Inject(APP_CONFIG) config: Pick<AppConfig, 'REDIS_PREFIX' | 'COUPON_RECONCILE'>,
  ) {
    this.redis = redis;
    for (const script of COUPON_SCRIPTS) script.define(redis);
    this.prefix = config.REDIS_PREFIX;
    this.reconcileEnabled = config.COUPON_RECONCILE;
  }

  keys(couponId: string): CouponKeys {
    return couponKeys(this.prefix, couponId);
  }

  /**
   * The atomic claim decision, with the member's rate limit counted in the same step when `limit` is
   * given (THROTTLED: over it, nothing decided; `retryInMs` is what is left of its window). A state that
   * is missing or not reconciled on this Redis server is reconciled with MySQL first (never decided on
   * without it, nor counted).
   */
  async claim(couponId: string, memberId: string, limit?: ScriptCounter): Promise<ClaimDecision> {
    const keys = this.keys(couponId);
    const decide = (): Promise<ClaimDecision> => {
      const now = Date.now();
      return couponClaim.run(this.redis, {
        state: keys.state,
        members: keys.members,
        pending: keys.pending,
        pendingIndex: pendingIndexKey(this.prefix),
        rate: rateKey(this.prefix, couponId, Math.floor(now / 1000)),
        memberId,
        nowMs: now,
        couponId,
        // Throttling off: no counter, nothing counted.
        ...(limit && { limitCounter: limit.key, limit: limit.points, windowMs: limit.windowMs }),
      });
    };
    const decision = await decide();
    if (decision.result !== ClaimResult.NOT_RECONCILED) return decision;
    await this.reconcile(couponId);
    const again = await decide();
    // The server changed again meanwhile (a second failover): the member may simply retry.
    if (again.result === ClaimResult.NOT_RECONCILED) throw restoring();
    return again;
  }

  /** Whether the member's claim was accepted (pending or persisted). */
  async accepted(couponId: string, memberId: string): Promise<boolean> {
    return (await this.redis.sismember(this.keys(couponId).members, memberId)) === 1;
  }

  /** Remaining stock, from a state reconciled on this Redis server (reconciled first if it is not). */
  async remaining(couponId: string): Promise<number> {
    const keys = this.keys(couponId);
    const counted = () => couponRemaining.run(this.redis, { state: keys.state, members: keys.members });
    const first = await counted();
    if (first !== RemainingResult.NOT_RECONCILED) return first;
    await this.reconcile(couponId);
    const again = await counted();
    if (again === RemainingResult.NOT_RECONCILED) throw restoring();
    return again;
  }

  /** Initialises a brand-new coupon's state (nothing issued yet). No-op if it exists and is reconciled. */
  async init(couponId: string, max: number): Promise<void> {
    const keys = this.keys(couponId);
    await couponReconcile.run(this.redis, {
      state: keys.state,
      members: keys.members,
      pending: keys.pending,
      max,
      stampOnly: 0,
    });
  }

  /** Whether the coupon's state is present and reconciled with MySQL on this Redis server. */
  async reconciled(couponId: string): Promise<boolean> {
    return couponReconciled.run(this.redis, { state: this.keys(couponId).state });
  }

  /**
   * Changes the limit atomically with the claims. Refused with 409 COUPON_MAX_BELOW_ISSUED when
   * more are already issued than the new limit.
   */
  async setMax(couponId: string, max: number): Promise<void> {
    const keys = this.keys(couponId);
    const setMax = () => couponSetMax.run(this.redis, { state: keys.state, members: keys.members, newMax: max });
    let result = await setMax();
    if (result === SetMaxResult.NOT_RECONCILED) {
      await this.reconcile(couponId);
      result = await setMax();
    }
    // Anything else than a code is the issued count, which the new limit is below.
    if (result >= 0) {
      throw new AppError(
        'COUPON_MAX_BELOW_ISSUED',
        `Coupon ${couponId} has already issued ${result}; maxIssuance cannot go below that`,
        { issued: result },
      );
    }
    if (result !== SetMaxResult.DONE)
      throw new AppError('SERVICE_UNAVAILABLE', 'The coupon stock could not be changed; retry');
  }

  /**
   * Persisted claims: their pending marks and claim -> job entries go (the coupon leaves the
   * pending index when none is left), and their members are (back) in the issued set: a row written
   * from a job of the Redis before a restart or failover must count against the stock of the one after.
   * `persisted: false`: claims voided, not written: their slots are freed too.
   */
  async clearPending(couponId: string, memberIds: string[], persisted = true): Promise<void> {
    const keys = this.keys(couponId);
    await couponClearPending.run(this.redis, {
      pending: keys.pending,
      pendingIndex: pendingIndexKey(this.prefix),
      jobs: keys.jobs,
      members: keys.members,
      couponId,
      persisted: persisted ? 1 : 0,
      memberIds,
    });
  }

  /**
   * Records which batch job carries each claim, for the sweeper; one round trip for all the
   * batches of an enqueue window. Called before the jobs are added: a crash in between leaves
   * entries naming jobs that do not exist, whose claims the sweeper then re-enqueues.
   */
  async recordJobs(batches: { couponId: string; memberIds: string[]; jobId: string }[]): Promise<void> {
    if (batches.length === 0) return;
    const pipeline = this.redis.pipeline();
    for (const { couponId, memberIds, jobId } of batches)
      pipeline.hset(this.keys(couponId).jobs, Object.fromEntries(memberIds.map((memberId) => [memberId, jobId])));
    const replies = (await pipeline.exec()) ?? [];
    const failed = replies.find(([error]) => error);
    if (failed) throw failed[0] as Error;
  }

  /** The batch job recorded for each pending claim (null: none recorded), in the order asked. */
  async jobsOf(couponId: string, memberIds: string[]): Promise<(string | null)[]> {
    if (memberIds.length === 0) return [];
    return this.redis.hmget(this.keys(couponId).jobs, ...memberIds);
  }

  /**
   * A claim that can never become a row: its slot is freed and its pending mark cleared, in one script
   * (a reconciliation in between would put a pending claim's member back in the issued set).
   */
  async voidClaim(couponId: string, memberId: string): Promise<void> {
    await this.clearPending(couponId, [memberId], false);
  }

  /**
   * One pipelined round trip for any number of coupons: state, issued, pending, oldest pending,
   * accepted claims of the last minute (the per-second counters of this second and the 59 before).
   */
  async status(couponIds: string[], now = Date.now()): Promise<CouponRedisStatus[]> {
    if (couponIds.length === 0) return [];
    const second = Math.floor(now / 1000);
    // The server's run id: a state is reconciled when its epoch is that.
    const pipeline = this.redis.pipeline().info('server');
    for (const couponId of couponIds) {
      const keys = this.keys(couponId);
      pipeline
        .hmget(keys.state, 'max', 'epoch')
        .scard(keys.members)
        .zcard(keys.pending)
        .zrange(keys.pending, 0, 0, 'WITHSCORES');
      pipeline.mget(Array.from({ length: 60 }, (_, i) => rateKey(this.prefix, couponId, second - 59 + i)));
    }
    const replies = (await pipeline.exec()) ?? [];
    const failed = replies.find(([error]) => error);
    if (failed) throw failed[0] as Error;
    const runId = redisServerFacts(String(replies[0][1])).runId;
    return couponIds.map((couponId, i) => {
      const [[max, epoch], issued, pending, oldest, rates] = replies
        .slice(1 + i * 5, 1 + i * 5 + 5)
        .map(([, value]) => value) as [[string | null, string | null], number, number, string[], (string | null)[]];
      return {
        couponId,
        stateInRedis: max !== null,
        reconciled: max !== null && epoch === runId,
        max: max === null ? null : Number(max),
        issued,
        pending,
        oldestPendingAgeMs: oldest.length === 2 ? Math.max(0, now - Number(oldest[1])) : null,
        acceptedLastMinute: rates.reduce((total, count) => total + Number(count ?? 0), 0),
      };
    });
  }

  /** member_coupon rows per coupon (one grouped count over the UNIQUE(coupon, member) index); 0 when none. */
  async rowCounts(couponIds: string[]): Promise<Map<string, number>> {
    const counts = new Map(couponIds.map((id) => [id, 0]));
    if (couponIds.length === 0) return counts;
    const counted = await this.em
      .getConnection()
      .execute<{ coupon_id: string | number; n: string | number }[]>(
        `select coupon_id, count(*) n from member_coupon where coupon_id in (${couponIds.map(() => '?').join(', ')}) group by coupon_id`,
        couponIds,
      );
    for (const row of counted) counts.set(String(row.coupon_id), Number(row.n));
    return counts;
  }

  /** Coupons that may have pending claims. */
  pendingCoupons(): Promise<string[]> {
    return this.redis.smembers(pendingIndexKey(this.prefix));
  }

  /** Members of `couponId` accepted before `before` (ms) and still not in MySQL. */
  pendingSince(couponId: string, before: number, limit = 10_000): Promise<string[]> {
    return this.redis.zrangebyscore(this.keys(couponId).pending, '-inf', before, 'LIMIT', 0, limit);
  }

  /**
   * One holder of a deployment-wide turn per `ms` (the sweeper: one worker of all servers per interval).
   * `retry`: the holder's own second attempt at the same turn (after a failure) takes it too.
   */
  async takeTurn(name: string, token: string, ms: number, options: { retry?: boolean } = {}): Promise<boolean> {
    const key = `${this.prefix}:coupons:${name}-lock`;
    if ((await this.redis.set(key, token, 'PX', ms, 'NX')) === 'OK') return true;
    return options.retry === true && (await this.redis.get(key)) === token;
  }

  /**
   * Reconciles every coupon claimable now or within the hour: those whose state is missing or not
   * reconciled on this Redis server (`all`: every one, even those that are: a backup restored into the
   * same server process changes no run id). Returns what was done, coupon by coupon.
   */
  async reconcileLive(now = Date.now(), options: { all?: boolean } = {}): Promise<ReconcileOutcome[]> {
    const outcomes: ReconcileOutcome[] = [];
    for (const couponId of await this.liveCoupons(now)) {
      const outcome = await this.reconcile(couponId, { always: options.all });
      if (outcome.reconciled) outcomes.push(outcome);
    }
    return outcomes;
  }

  /** Coupons claimable now or within the hour (at most 1,000): their state must be reconciled before the rush. */
  async liveCoupons(now = Date.now()): Promise<string[]> {
    const rows = await this.em
      .fork()
      .createQueryBuilder(Coupon, 'c')
      .select(['c.id'])
      .join('c.event', 'e')
      .where({
        validUntil: { $gt: new Date(now) },
        event: { endsAt: { $gt: new Date(now) }, startsAt: { $lt: new Date(now + 3600_000) } },
      })
      .limit(1000)
      .execute<{ id: string }[]>('all', true);
    return rows.map((row) => String(row.id));
  }

  /**
   * Brings one coupon's Redis state up to MySQL: every member with a row, and every pending claim, is
   * in the issued set (so the issued count is at least the rows), and a state that was missing or
   * stamped by another Redis server gets MySQL's limit and this server's epoch, after which the claim
   * script decides on it again. Members are only ever added, never removed: nobody can claim twice,
   * and the issued count never goes down. Under a per-coupon lock, so concurrent callers (many claims at
   * once, the sweeper, `npm run rebuild-coupons`) do it once; unless `always`, nothing is done for a
   * state already reconciled on this server.
   *
   * The pending claims join in the script, atomically with a voiding (voidClaim, one script too): a
   * pending mark read here, before MySQL's rows, would put back a claim voided meanwhile. A claim
   * persisted while this runs is in MySQL's rows, or its clear (which adds its member) comes later.
   */
  async reconcile(couponId: string, options: { always?: boolean } = {}): Promise<ReconcileOutcome> {
    const keys = this.keys(couponId);
    const redis = this.redis;
    const startedAt = Date.now();
    const untouched = async (): Promise<ReconcileOutcome> => {
      const [max, issued] = await Promise.all([redis.hget(keys.state, 'max'), redis.scard(keys.members)]);
      const tookMs = Date.now() - startedAt;
      return { couponId, reconciled: false, stale: false, restored: 0, issued, rows: 0, max: Number(max), tookMs };
    };
    if (!options.always && (await this.reconciled(couponId))) return untouched();
    const token = randomUUID();
    const deadline = Date.now() + WAIT_FOR_OTHER_REBUILD_MS;
    while ((await redis.set(keys.rebuildLock, token, 'PX', REBUILD_LOCK_MS, 'NX')) !== 'OK') {
      // Someone else is reconciling it: wait for that rather than deciding without it.
      if (!options.always && (await this.reconciled(couponId))) return untouched();
      if (Date.now() > deadline) throw restoring();
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    try {
      if (!options.always && (await this.reconciled(couponId))) return untouched();
      const em = this.em.fork();
      const coupon = await em.findOne(Coupon, { id: couponId }, { fields: ['id', 'maxIssuance'] });
      if (!coupon) throw new AppError('COUPON_NOT_FOUND', `Coupon ${couponId} does not exist`);
      // COUPON_RECONCILE=false: what Pick did before (a state that exists is trusted as it is).
      const stampOnly = !this.reconcileEnabled && (await redis.exists(keys.state)) === 1;
      let restored = 0;
      let rows = 0;
      if (!stampOnly) {
        const persisted = await em
          .createQueryBuilder(MemberCoupon, 'mc')
          .select(['mc.member'])
          .where({ coupon: couponId })
          .execute<{ member: string }[]>('all', true);
        rows = persisted.length;
        const memberIds = [...new Set(persisted.map((row) => String(row.member)))];
        for (let i = 0; i < memberIds.length; i += RECONCILE_CHUNK)
          restored += await redis.sadd(keys.members, ...memberIds.slice(i, i + RECONCILE_CHUNK));
      }
      const { added, issued, stale } = await couponReconcile.run(redis, {
        state: keys.state,
        members: keys.members,
        pending: keys.pending,
        max: coupon.maxIssuance,
        stampOnly: stampOnly ? 1 : 0,
      });
      restored += added;
      const max = Number(await redis.hget(keys.state, 'max'));
      const tookMs = Date.now() - startedAt;
      if (stale) stateRebuilds.inc();
      if (restored > 0) {
        reconcileRestored.inc(restored);
        this.logger.warn(
          `coupon ${couponId}: Redis was behind MySQL: ${restored} members with a row or a pending claim were missing from its issued set and are back (issued ${issued}, rows ${rows}, max ${max}; ${tookMs} ms)`,
        );
      }
      return { couponId, reconciled: true, stale, restored, issued, rows, max, tookMs };
    } finally {
      await couponUnlock.run(redis, { lock: keys.rebuildLock, token }).catch(() => undefined);
    }
  }
}

/** A claim (or a read) that must wait for its coupon's reconciliation: the client may retry in a second. */
const restoring = () =>
  new AppError(
    'SERVICE_UNAVAILABLE',
    'The coupon stock is being reconciled after a Redis change; retry shortly',
    undefined,
    1,
  );
