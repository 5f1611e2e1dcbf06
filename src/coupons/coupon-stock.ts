import { EntityManager } from '@mikro-orm/mysql';
import { Inject, Injectable } from '@nestjs/common';
import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import type { AppConfig } from '../../config/env.js';
import { APP_CONFIG } from '../common/config.module.js';
import { AppError } from '../common/errors.js';
import type { ScriptLimit } from '../throttle/throttle.service.js';
import { ClaimResult, defineClaimCommands, type ClaimRedis } from './claim-scripts.js';
import { stateRebuilds } from './coupon.metrics.js';
import { Coupon } from './coupon.entity.js';
import { MemberCoupon } from './member-coupon.entity.js';

/**
 * Redis state of one coupon (hash tag `{id}` keeps a coupon's keys in one slot; the claim script
 * also writes the pending index, another slot, so Pick runs on one Redis primary, not a Redis Cluster):
 * - `state`   hash { max }: present = the coupon's state is initialised; Redis decides on it.
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

/** The claim script's answer: the decision, and the ms left in the limit's window when THROTTLED (else 0). */
export interface ClaimDecision {
  result: ClaimResult;
  retryInMs: number;
}

/** Accepted claims of one coupon in one second (`second` = epoch ms / 1000, floored); expires after 2 min. */
export const rateKey = (prefix: string, couponId: string, second: number) =>
  `${prefix}:coupon:{${couponId}}:rate:${second}`;

/** What Redis holds about one coupon right now (the admin status and the metrics read it). */
export interface CouponRedisStatus {
  couponId: string;
  /** false: no state in Redis (never initialised, or lost; rebuilt on the next claim or sweep) */
  stateInRedis: boolean;
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

/** The coupons that may have pending claims (for the sweeper): one set for the deployment. */
export const pendingIndexKey = (prefix: string) => `${prefix}:coupons:pending-index`;

export { ClaimResult };

export interface RebuildOutcome {
  couponId: string;
  /** false: the state was already there (or another worker just rebuilt it) */
  rebuilt: boolean;
  issued: number;
  max: number;
}

const REBUILD_LOCK_MS = 15_000;
const WAIT_FOR_OTHER_REBUILD_MS = 5_000;

/**
 * The one owner of coupon stock in Redis: the client with the claim scripts, the key layout,
 * initialisation and rebuild. The claim path, the admin writes, the issuance processor, the
 * sweeper and `npm run rebuild-coupons` all go through it.
 */
@Injectable()
export class CouponStock {
  private readonly redis: ClaimRedis;
  private readonly prefix: string;

  constructor(
    redis: Redis,
    private readonly em: EntityManager,
    @Inject(APP_CONFIG) config: Pick<AppConfig, 'REDIS_PREFIX'>,
  ) {
    this.redis = defineClaimCommands(redis);
    this.prefix = config.REDIS_PREFIX;
  }

  keys(couponId: string): CouponKeys {
    return couponKeys(this.prefix, couponId);
  }

  /**
   * The atomic claim decision, with the member's rate limit counted in the same step when `limit` is
   * given (THROTTLED: over it, nothing decided; `retryInMs` is what is left of its window); missing
   * state is rebuilt first (never decided without it, nor counted).
   */
  async claim(couponId: string, memberId: string, limit?: ScriptLimit): Promise<ClaimDecision> {
    const keys = this.keys(couponId);
    const decide = async (): Promise<ClaimDecision> => {
      const now = Date.now();
      const [result, retryInMs] = await this.redis.couponClaim(
        keys.state,
        keys.members,
        keys.pending,
        pendingIndexKey(this.prefix),
        rateKey(this.prefix, couponId, Math.floor(now / 1000)),
        limit?.key ?? keys.state,
        memberId,
        now,
        couponId,
        limit?.points ?? 0,
        limit?.windowMs ?? 0,
      );
      return { result, retryInMs };
    };
    const decision = await decide();
    if (decision.result !== ClaimResult.STATE_MISSING) return decision;
    await this.rebuild(couponId);
    return decide();
  }

  /** Whether the member's claim was accepted (pending or persisted). */
  async accepted(couponId: string, memberId: string): Promise<boolean> {
    return (await this.redis.sismember(this.keys(couponId).members, memberId)) === 1;
  }

  /** Remaining stock; null when Redis has no state for it even after a rebuild attempt. */
  async remaining(couponId: string): Promise<number> {
    const keys = this.keys(couponId);
    const read = async () => {
      const [[, max], [, issued]] = (await this.redis.multi().hget(keys.state, 'max').scard(keys.members).exec()) as [
        [unknown, string | null],
        [unknown, number],
      ];
      return max === null ? null : Math.max(0, Number(max) - issued);
    };
    const first = await read();
    if (first !== null) return first;
    await this.rebuild(couponId);
    return (await read()) ?? 0;
  }

  /** Initialises a brand-new coupon's state (nothing issued yet). No-op if it exists. */
  async init(couponId: string, max: number): Promise<void> {
    const keys = this.keys(couponId);
    await this.redis.couponRebuild(keys.state, keys.members, keys.pending, max, 0);
  }

  /**
   * Changes the limit atomically with the claims. Refused with 409 COUPON_MAX_BELOW_ISSUED when
   * more are already issued than the new limit.
   */
  async setMax(couponId: string, max: number): Promise<void> {
    const keys = this.keys(couponId);
    let result = await this.redis.couponSetMax(keys.state, keys.members, max);
    if (result === -2) {
      await this.rebuild(couponId);
      result = await this.redis.couponSetMax(keys.state, keys.members, max);
    }
    if (result >= 0) {
      throw new AppError(
        'COUPON_MAX_BELOW_ISSUED',
        `Coupon ${couponId} has already issued ${result}; maxIssuance cannot go below that`,
        { issued: result },
      );
    }
    if (result !== -1) throw new AppError('SERVICE_UNAVAILABLE', 'The coupon stock could not be changed; retry');
  }

  /**
   * Persisted claims: their pending marks and claim -> job entries go (the coupon leaves the
   * pending index when none is left).
   */
  async clearPending(couponId: string, memberIds: string[]): Promise<void> {
    const keys = this.keys(couponId);
    await this.redis.couponClearPending(keys.pending, pendingIndexKey(this.prefix), keys.jobs, couponId, ...memberIds);
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

  /** A claim that can never become a row: its slot is freed and its pending mark cleared. */
  async voidClaim(couponId: string, memberId: string): Promise<void> {
    await this.redis.srem(this.keys(couponId).members, memberId);
    await this.clearPending(couponId, [memberId]);
  }

  /**
   * One pipelined round trip for any number of coupons: state, issued, pending, oldest pending,
   * accepted claims of the last minute (the per-second counters of this second and the 59 before).
   */
  async status(couponIds: string[], now = Date.now()): Promise<CouponRedisStatus[]> {
    if (couponIds.length === 0) return [];
    const second = Math.floor(now / 1000);
    const pipeline = this.redis.pipeline();
    for (const couponId of couponIds) {
      const keys = this.keys(couponId);
      pipeline.hget(keys.state, 'max').scard(keys.members).zcard(keys.pending).zrange(keys.pending, 0, 0, 'WITHSCORES');
      pipeline.mget(Array.from({ length: 60 }, (_, i) => rateKey(this.prefix, couponId, second - 59 + i)));
    }
    const replies = (await pipeline.exec()) ?? [];
    const failed = replies.find(([error]) => error);
    if (failed) throw failed[0] as Error;
    return couponIds.map((couponId, i) => {
      const [max, issued, pending, oldest, rates] = replies.slice(i * 5, i * 5 + 5).map(([, value]) => value) as [
        string | null,
        number,
        number,
        string[],
        (string | null)[],
      ];
      return {
        couponId,
        stateInRedis: max !== null,
        max: max === null ? null : Number(max),
        issued,
        pending,
        oldestPendingAgeMs: oldest.length === 2 ? Math.max(0, now - Number(oldest[1])) : null,
        acceptedLastMinute: rates.reduce((total, count) => total + Number(count ?? 0), 0),
      };
    });
  }

  /** Coupons that may have pending claims. */
  pendingCoupons(): Promise<string[]> {
    return this.redis.smembers(pendingIndexKey(this.prefix));
  }

  /** Members of `couponId` accepted before `before` (ms) and still not in MySQL. */
  pendingSince(couponId: string, before: number, limit = 10_000): Promise<string[]> {
    return this.redis.zrangebyscore(this.keys(couponId).pending, '-inf', before, 'LIMIT', 0, limit);
  }

  /** One holder of a deployment-wide turn per `ms` (the sweeper: one worker of all servers per interval). */
  async takeTurn(name: string, token: string, ms: number): Promise<boolean> {
    return (await this.redis.set(`${this.prefix}:coupons:${name}-lock`, token, 'PX', ms, 'NX')) === 'OK';
  }

  /** Rebuilds the state of every coupon claimable now or within the hour whose state is missing. */
  async ensureActive(now = Date.now()): Promise<string[]> {
    const rebuilt: string[] = [];
    for (const couponId of await this.activeCoupons(now)) {
      if ((await this.redis.exists(this.keys(couponId).state)) === 1) continue;
      if ((await this.rebuild(couponId)).rebuilt) rebuilt.push(couponId);
    }
    return rebuilt;
  }

  /** Coupons claimable now or within the hour: their state must exist before the rush. */
  private async activeCoupons(now: number): Promise<string[]> {
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
   * (Re)builds one coupon's Redis state from MySQL plus the pending claims, under a per-coupon
   * lock so concurrent callers (many claims at once, the sweeper, the CLI) rebuild it once.
   * Members are only ever added, never removed: a member once accepted can never claim again.
   *
   * Order matters: pending marks are read before MySQL's rows, because a processor inserts the
   * row first and clears the mark after. A claim persisted in between is then in one of the two.
   */
  async rebuild(couponId: string, options: { force?: boolean } = {}): Promise<RebuildOutcome> {
    const keys = this.keys(couponId);
    const redis = this.redis;
    const token = randomUUID();
    const deadline = Date.now() + WAIT_FOR_OTHER_REBUILD_MS;
    const present = async (): Promise<RebuildOutcome> => ({
      couponId,
      rebuilt: false,
      issued: await redis.scard(keys.members),
      max: Number(await redis.hget(keys.state, 'max')),
    });
    while ((await redis.set(keys.rebuildLock, token, 'PX', REBUILD_LOCK_MS, 'NX')) !== 'OK') {
      // Someone else is rebuilding: wait for the state rather than deciding without it.
      if (!options.force && (await redis.exists(keys.state)) === 1) return present();
      if (Date.now() > deadline)
        throw new AppError('SERVICE_UNAVAILABLE', 'The coupon is being restored; retry shortly');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    try {
      const em = this.em.fork();
      const coupon = await em.findOne(Coupon, { id: couponId }, { fields: ['id', 'maxIssuance'] });
      if (!coupon) throw new AppError('COUPON_NOT_FOUND', `Coupon ${couponId} does not exist`);
      const pendingBefore = await redis.zrange(keys.pending, 0, -1);
      const rows = await em
        .createQueryBuilder(MemberCoupon, 'mc')
        .select(['mc.member'])
        .where({ coupon: couponId })
        .execute<{ member: string }[]>('all', true);
      const memberIds = [...new Set([...pendingBefore, ...rows.map((row) => String(row.member))])];
      const issued = await redis.couponRebuild(
        keys.state,
        keys.members,
        keys.pending,
        coupon.maxIssuance,
        options.force ? 1 : 0,
        ...memberIds,
      );
      if (issued === -1) return present();
      stateRebuilds.inc();
      return { couponId, rebuilt: true, issued, max: coupon.maxIssuance };
    } finally {
      await redis.couponUnlock(keys.rebuildLock, token).catch(() => undefined);
    }
  }
}
