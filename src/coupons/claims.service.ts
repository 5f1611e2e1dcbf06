import { EntityManager } from '@mikro-orm/mysql';
import { Injectable, Logger } from '@nestjs/common';
import { AppError } from '../common/errors.js';
import { LATE, settleWithin } from '../common/timeout.js';
import { FailoverFence } from '../redis/failover-fence.js';
import { RedisServer } from '../redis/redis-server.js';
import { ReplicaAcks } from '../redis/replica-acks.js';
import { ClaimLimits } from '../throttle/claim-limit.js';
import { ClaimEnqueuer } from './claim-enqueuer.js';
import { claimWindowError } from './claim-window.js';
import { ClaimResult, CouponStock } from './coupon-stock.js';
import { claimDecisions } from './coupon.metrics.js';
import type { ClaimStatus, MemberCouponDto } from './coupons.dto.js';
import { CouponEventsService } from './coupon-events.service.js';
import { MemberCoupon } from './member-coupon.entity.js';

// Bull's client waits for Redis forever; the claim is already recorded as pending, so a slow
// enqueue is left to the sweeper rather than holding the response.
const ENQUEUE_WAIT_MS = 1_000;

// The rush's two everyday answers, the same for every member: made once (thousands a second are thrown).
const ALREADY_ISSUED = new AppError('COUPON_ALREADY_ISSUED', 'You already have this coupon');
const SOLD_OUT = new AppError('COUPON_SOLD_OUT', 'This coupon is sold out');

@Injectable()
export class ClaimsService {
  private readonly logger = new Logger(ClaimsService.name);

  constructor(
    private readonly em: EntityManager,
    private readonly events: CouponEventsService,
    private readonly stock: CouponStock,
    private readonly enqueuer: ClaimEnqueuer,
    private readonly claimLimits: ClaimLimits,
    private readonly redisServer: RedisServer,
    private readonly replicaAcks: ReplicaAcks,
    private readonly failoverFence: FailoverFence,
  ) {}

  /**
   * Claims a coupon: checks in process (coupon of this event, both time windows), then one
   * atomic Lua decision in Redis, then a Bull job to persist it (shared with the other claims this
   * worker accepts in the same few ms: ClaimEnqueuer). Accepted = durable: the
   * pending mark is in Redis before the 202, and the sweeper re-enqueues it if the job is lost.
   */
  async claim(eventId: string, couponId: string, memberId: string): Promise<void> {
    // Every claim counts against the member's claim limit (src/throttle/limits.ts): a member already
    // seen over it by this worker is refused from memory here; a claim that reaches Redis is counted by
    // the claim script itself, in the same round trip as the decision; one refused before, by `refuse`.
    const limit = this.claimLimits.begin(memberId);
    const event = await this.events.snapshot(eventId);
    const coupon = event?.coupons.find((candidate) => candidate.id === couponId);
    if (!event || !coupon)
      return this.refuse(
        memberId,
        new AppError('COUPON_NOT_FOUND', `Coupon ${couponId} is not part of event ${eventId}`),
        'not_found',
      );
    const refusal = claimWindowError(event, coupon, Date.now());
    if (refusal === 'EVENT_ENDED')
      return this.refuse(memberId, new AppError(refusal, 'This coupon event has ended'), 'ended');
    if (refusal)
      return this.refuse(memberId, new AppError(refusal, 'This coupon event has not started yet'), 'not_started');

    if (this.redisServer.claimsRefusal()) {
      claimDecisions.inc({ result: 'unavailable' });
      throw new AppError(
        'SERVICE_UNAVAILABLE',
        'Claims are paused: the coupon stock is not durable right now',
        undefined,
        30,
      );
    }
    // A failover may be under way: a claim decided now could be decided by a primary about to be deposed.
    if (this.failoverFence.raised) {
      claimDecisions.inc({ result: 'unavailable' });
      throw new AppError('SERVICE_UNAVAILABLE', 'Redis is failing over; retry shortly', undefined, 1);
    }
    // The limit's 429s (over it in the script; or, Redis unavailable, counted in this worker's memory)
    // are not claim decisions; the stock's failure is one ('unavailable').
    const decision = await limit
      .settle(
        this.stock.claim(couponId, memberId, limit.counter),
        (decided) => decided.result === ClaimResult.THROTTLED,
      )
      .catch((error: unknown) => {
        if (!(error instanceof AppError && error.code === 'TOO_MANY_REQUESTS'))
          claimDecisions.inc({ result: 'unavailable' });
        throw error;
      });
    const result = decision.result;
    switch (result) {
      case ClaimResult.ACCEPTED:
        // The 202 waits for both: its job in Bull (best effort: the sweeper has the pending mark), and its
        // write on REDIS_CLAIM_REPLICAS replicas (else 503: it may have landed; a retry or GET …/issue tells).
        await Promise.all([this.enqueue(couponId, memberId), this.acknowledged(decision.epoch)]);
        claimDecisions.inc({ result: 'accepted' });
        return;
      case ClaimResult.DUPLICATE:
        // "You have it" only once a replica has it too: a member retrying after a 503 is told the truth.
        await this.acknowledged(decision.epoch);
        claimDecisions.inc({ result: 'duplicate' });
        throw ALREADY_ISSUED;
      case ClaimResult.SOLD_OUT:
        claimDecisions.inc({ result: 'sold_out' });
        throw SOLD_OUT;
      default:
        claimDecisions.inc({ result: 'unavailable' });
        throw new AppError('SERVICE_UNAVAILABLE', 'The coupon stock is unavailable; retry shortly');
    }
  }

  private acknowledged(epoch: string): Promise<void> {
    return this.replicaAcks.acknowledged(epoch).catch((error: unknown) => {
      claimDecisions.inc({ result: 'unacknowledged' });
      throw error;
    });
  }

  /**
   * A claim refused before the claim script (malformed ids, no such coupon, outside its window):
   * counted against the member's limit in Redis all the same (429 past it, whatever was wrong with
   * the claim), then refused with `error`, counted under `result` in the claim metrics.
   */
  async refuse(memberId: string, error: AppError, result?: string): Promise<never> {
    await this.claimLimits.countRefused(memberId);
    if (result) claimDecisions.inc({ result });
    throw error;
  }

  private async enqueue(couponId: string, memberId: string): Promise<void> {
    try {
      const outcome = await settleWithin(this.enqueuer.enqueue(couponId, memberId), ENQUEUE_WAIT_MS);
      if (outcome === LATE)
        this.logger.warn(`claim ${couponId}:${memberId} accepted; enqueue slow, the sweeper will see to it`);
    } catch (error) {
      this.logger.warn(
        `claim ${couponId}:${memberId} accepted; enqueue failed (${(error as Error).message}), the sweeper will re-enqueue it`,
      );
    }
  }

  /** ISSUED when the row is in MySQL, PENDING when Redis accepted it and it is on its way, NONE otherwise. */
  async status(eventId: string, couponId: string, memberId: string): Promise<ClaimStatus> {
    const event = await this.events.snapshot(eventId);
    if (!event?.coupons.some((coupon) => coupon.id === couponId))
      throw new AppError('COUPON_NOT_FOUND', `Coupon ${couponId} is not part of event ${eventId}`);
    const row = await this.em.fork().count(MemberCoupon, { coupon: couponId, member: memberId });
    if (row > 0) return 'ISSUED';
    if (!(await this.stock.accepted(couponId, memberId))) return 'NONE';
    // Accepted: either still pending, or persisted between the two reads above.
    const again = await this.em.fork().count(MemberCoupon, { coupon: couponId, member: memberId });
    return again > 0 ? 'ISSUED' : 'PENDING';
  }

  async memberCoupons(memberId: string): Promise<MemberCouponDto[]> {
    const rows = await this.em
      .fork()
      .find(MemberCoupon, { member: memberId }, { populate: ['coupon'], orderBy: { id: 'desc' }, limit: 500 });
    return rows.map((row) => ({
      id: String(row.id),
      couponId: String(row.coupon.id),
      eventId: String(row.coupon.event.id),
      name: row.coupon.name,
      discountType: row.coupon.discountType,
      discountValue: row.coupon.discountValue,
      minimumProductPrice: row.coupon.minimumProductPrice,
      validFrom: row.coupon.validFrom.toISOString(),
      validUntil: row.coupon.validUntil.toISOString(),
      status: row.status,
      usedAt: row.usedAt?.toISOString() ?? null,
      issuedAt: row.createdAt.toISOString(),
    }));
  }
}
