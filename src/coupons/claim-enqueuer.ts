import { InjectQueue } from '@nestjs/bull';
import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import type { Queue } from 'bull';
import type { AppConfig } from '../../config/env.js';
import { APP_CONFIG } from '../common/config.module.js';
import { withTimeout } from '../common/timeout.js';
import { CouponStock } from './coupon-stock.js';
import { batchJobId, ISSUANCE_BATCH_QUEUE, ISSUANCE_JOB_OPTIONS, type IssuanceBatchJob } from './issuance.queue.js';
import { WindowBatch } from './window-batch.js';

interface Accepted {
  couponId: string;
  memberId: string;
  resolve: () => void;
  reject: (error: unknown) => void;
}

// The shutdown drain waits this long at most (Bull's add waits for Redis forever); the pending
// marks of whatever did not make it are left to the sweeper.
const DRAIN_WAIT_MS = 6_000;

/**
 * Hands this worker's accepted claims to Bull in batches: the claims of one enqueue window
 * (COUPON_ENQUEUE_WINDOW_MS, at most COUPON_ENQUEUE_BATCH_MAX) become one job per coupon on
 * ISSUANCE_BATCH_QUEUE, with an id derived from its claims. Bull's cost is per job (three scripts
 * in Redis: add, take, complete), so one job per claim capped the drain near Bull's own job rate.
 *
 * Before the add, CouponStock records claim -> job id for each claim, so the sweeper can tell a
 * claim whose job is gone (re-enqueue it) from one Bull still holds.
 */
@Injectable()
export class ClaimEnqueuer implements OnApplicationShutdown {
  private readonly logger = new Logger(ClaimEnqueuer.name);
  private readonly batch: WindowBatch<Accepted>;

  constructor(
    private readonly stock: CouponStock,
    @InjectQueue(ISSUANCE_BATCH_QUEUE) private readonly queue: Queue<IssuanceBatchJob>,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.batch = new WindowBatch<Accepted>({
      windowMs: config.COUPON_ENQUEUE_WINDOW_MS,
      max: config.COUPON_ENQUEUE_BATCH_MAX,
      send: (claims) => this.send(claims),
      onSendError: (error, claims) => claims.forEach((claim) => claim.reject(error)),
    });
  }

  /** Resolves once the job carrying this claim is in Bull; rejects if it could not be added. */
  enqueue(couponId: string, memberId: string): Promise<void> {
    return new Promise<void>((resolve, reject) => this.batch.push({ couponId, memberId, resolve, reject }));
  }

  /**
   * Sends the open batch now and waits for every add in flight (bounded). The issuance processor
   * calls it before closing the queues: claims accepted while HTTP drained must be in Bull before
   * the process exits, not left for the sweeper's bound.
   */
  async drain(): Promise<void> {
    await withTimeout(
      this.batch.drain(),
      DRAIN_WAIT_MS,
      () => new Error(`claim batches not enqueued within ${DRAIN_WAIT_MS} ms`),
    ).catch((error: Error) => this.logger.warn(`${error.message}; the sweeper will re-enqueue them`));
  }

  /** Processes without processors (HTTP-only): @nestjs/bull closes the queue after this module's hooks. */
  onApplicationShutdown(): Promise<void> {
    return this.drain();
  }

  private async send(claims: Accepted[]): Promise<void> {
    const batches = [...Map.groupBy(claims, (claim) => claim.couponId)].map(([couponId, held]) => {
      const memberIds = held.map((claim) => claim.memberId);
      return { couponId, memberIds, jobId: batchJobId(couponId, memberIds), held };
    });
    try {
      await this.stock.recordJobs(batches);
    } catch (error) {
      // No record, no job: the sweeper finds neither and re-enqueues these claims one by one.
      claims.forEach((claim) => claim.reject(error));
      return;
    }
    await Promise.all(
      batches.map(({ couponId, memberIds, jobId, held }) =>
        this.queue.add({ couponId, memberIds }, { ...ISSUANCE_JOB_OPTIONS, jobId }).then(
          () => held.forEach((claim) => claim.resolve()),
          (error: unknown) => held.forEach((claim) => claim.reject(error)),
        ),
      ),
    );
  }
}
