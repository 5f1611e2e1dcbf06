import { InjectQueue } from '@nestjs/bull';
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { Job, Queue } from 'bull';
import { randomUUID } from 'node:crypto';
import type { AppConfig } from '../../config/env.js';
import { APP_CONFIG } from '../common/config.module.js';
import { CouponStock } from './coupon-stock.js';
import { sweeperReenqueued, sweeperRetried } from './coupon.metrics.js';
import {
  ISSUANCE_BATCH_QUEUE,
  ISSUANCE_JOB_OPTIONS,
  ISSUANCE_QUEUE,
  issuanceJobId,
  type IssuanceBatchJob,
  type IssuanceJob,
} from './issuance.queue.js';

export interface SweepReport {
  reenqueued: number;
  retried: number;
  rebuilt: string[];
}

/**
 * The safety net behind "accepted = durable". Every processing worker ticks, but a Redis lock
 * (SET NX PX one interval) lets exactly one worker of all servers sweep per interval:
 * - a claim pending longer than COUPON_PENDING_BOUND_MS whose job is gone (worker died between
 *   the Lua accept and the enqueue, job lost) is enqueued again, as a single-claim job; a failed
 *   job is retried. "Its job" is the batch job CouponStock recorded for the claim if that job
 *   still exists, else the single-claim job `<couponId>:<memberId>` (the sweeper's own, or the
 *   previous release's);
 * - an active coupon whose Redis state is missing (data loss) is rebuilt from MySQL + pending.
 */
@Injectable()
export class ClaimSweeper implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ClaimSweeper.name);
  private readonly token = randomUUID();
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(
    private readonly stock: CouponStock,
    @InjectQueue(ISSUANCE_QUEUE) private readonly queue: Queue<IssuanceJob>,
    @InjectQueue(ISSUANCE_BATCH_QUEUE) private readonly batchQueue: Queue<IssuanceBatchJob>,
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
      if (!(await this.stock.takeTurn('sweeper', this.token, this.config.COUPON_SWEEP_INTERVAL_MS))) return;
      const report = await this.sweep();
      if (report.reenqueued + report.retried + report.rebuilt.length > 0)
        this.logger.log(`sweep: ${JSON.stringify(report)}`);
    } catch (error) {
      this.logger.warn(`sweep failed: ${(error as Error).message}`);
    } finally {
      this.running = false;
    }
  }

  async sweep(now = Date.now()): Promise<SweepReport> {
    const report: SweepReport = { reenqueued: 0, retried: 0, rebuilt: await this.stock.ensureActive(now) };
    for (const couponId of await this.stock.pendingCoupons()) {
      const stale = await this.stock.pendingSince(couponId, now - this.config.COUPON_PENDING_BOUND_MS);
      const recorded = await this.stock.jobsOf(couponId, stale);
      // Each batch job is looked up (and retried) once per sweep, however many claims it carries.
      const batches = new Map<string, Job<IssuanceBatchJob> | null>();
      for (const [i, memberId] of stale.entries()) {
        const batchId = recorded[i];
        if (batchId !== null) {
          if (!batches.has(batchId)) {
            const batch = await this.batchQueue.getJob(batchId);
            batches.set(batchId, batch);
            if (batch && (await batch.isFailed())) {
              await batch.retry();
              report.retried++;
              sweeperRetried.inc();
            }
          }
          // waiting, delayed (backing off), active or just retried: Bull has it.
          if (batches.get(batchId)) continue;
        }
        const jobId = issuanceJobId(couponId, memberId);
        const job = await this.queue.getJob(jobId);
        if (!job) {
          await this.queue.add({ couponId, memberId }, { ...ISSUANCE_JOB_OPTIONS, jobId });
          report.reenqueued++;
          sweeperReenqueued.inc();
        } else if (await job.isFailed()) {
          await job.retry();
          report.retried++;
          sweeperRetried.inc();
        }
        // waiting, delayed (backing off) or active: Bull has it.
      }
    }
    return report;
  }
}
