import { EntityManager } from '@mikro-orm/mysql';
import { InjectQueue } from '@nestjs/bull';
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { Queue } from 'bull';
import { randomUUID } from 'node:crypto';
import type { AppConfig } from '../../config/env.js';
import { APP_CONFIG } from '../common/config.module.js';
import { couponKeys } from './claim-scripts.js';
import { Coupon } from './coupon.entity.js';
import { rebuildCouponState } from './coupon-state.js';
import { EventsService } from './events.service.js';
import { ISSUANCE_JOB_OPTIONS, ISSUANCE_QUEUE, issuanceJobId, type IssuanceJob } from './issuance.queue.js';

export interface SweepReport {
  reenqueued: number;
  retried: number;
  rebuilt: string[];
}

/**
 * The safety net behind "accepted = durable". Every processing worker ticks, but a Redis lock
 * (SET NX PX one interval) lets exactly one worker of all servers sweep per interval:
 * - a claim pending longer than COUPON_PENDING_BOUND_MS whose job is gone (worker died between
 *   the Lua accept and the enqueue, job lost) is enqueued again; a failed one is retried;
 * - an active coupon whose Redis state is missing (data loss) is rebuilt from MySQL + pending.
 */
@Injectable()
export class ClaimSweeper implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ClaimSweeper.name);
  private readonly token = randomUUID();
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(
    private readonly em: EntityManager,
    private readonly events: EventsService,
    @InjectQueue(ISSUANCE_QUEUE) private readonly queue: Queue<IssuanceJob>,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.config.QUEUE_PROCESSORS_ENABLED) return;
    this.timer = setInterval(() => void this.tick(), this.config.COUPON_SWEEP_INTERVAL_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  private async tick(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      const lock = `${this.config.REDIS_PREFIX}:coupons:sweeper-lock`;
      if ((await this.events.redis.set(lock, this.token, 'PX', this.config.COUPON_SWEEP_INTERVAL_MS, 'NX')) !== 'OK') return;
      const report = await this.sweep();
      if (report.reenqueued + report.retried + report.rebuilt.length > 0) this.logger.log(`sweep: ${JSON.stringify(report)}`);
    } catch (error) {
      this.logger.warn(`sweep failed: ${(error as Error).message}`);
    } finally {
      this.running = false;
    }
  }

  async sweep(now = Date.now()): Promise<SweepReport> {
    const report: SweepReport = { reenqueued: 0, retried: 0, rebuilt: [] };
    const redis = this.events.redis;
    const prefix = this.config.REDIS_PREFIX;

    for (const coupon of await this.activeCoupons(now)) {
      if ((await redis.exists(couponKeys(prefix, coupon).state)) === 0) {
        const outcome = await rebuildCouponState(redis, this.em.fork(), prefix, coupon);
        if (outcome.rebuilt) report.rebuilt.push(coupon);
      }
    }

    const couponIds = await redis.smembers(couponKeys(prefix, '0').pendingIndex);
    for (const couponId of couponIds) {
      const keys = couponKeys(prefix, couponId);
      const stale = await redis.zrangebyscore(keys.pending, '-inf', now - this.config.COUPON_PENDING_BOUND_MS, 'LIMIT', 0, 10_000);
      for (const memberId of stale) {
        const jobId = issuanceJobId(couponId, memberId);
        const job = await this.queue.getJob(jobId);
        if (!job) {
          await this.queue.add({ couponId, memberId }, { ...ISSUANCE_JOB_OPTIONS, jobId });
          report.reenqueued++;
        } else if (await job.isFailed()) {
          await job.retry();
          report.retried++;
        }
        // waiting, delayed (backing off) or active: Bull has it.
      }
    }
    return report;
  }

  /** Coupons claimable now or within the hour: their state must exist before the rush. */
  private async activeCoupons(now: number): Promise<string[]> {
    const rows = await this.em
      .fork()
      .createQueryBuilder(Coupon, 'c')
      .select(['c.id'])
      .join('c.event', 'e')
      .where({ validUntil: { $gt: new Date(now) }, event: { endsAt: { $gt: new Date(now) }, startsAt: { $lt: new Date(now + 3600_000) } } })
      .limit(1000)
      .execute<{ id: string }[]>('all', true);
    return rows.map((row) => String(row.id));
  }
}
