import { InjectQueue } from '@nestjs/bull';
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { Job, Queue } from 'bull';
import type { Subscription } from 'rxjs';
import { randomUUID } from 'node:crypto';
import type { AppConfig } from '../../config/env.js';
import { APP_CONFIG } from '../common/config.module.js';
import { RedisServer, type RedisConnected } from '../redis/redis-server.js';
import { CouponStock, type ReconcileOutcome } from './coupon-stock.js';
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
  /** coupons reconciled with MySQL (their outcomes) */
  reconciled: ReconcileOutcome[];
}

/**
 * The safety net behind "accepted = durable" and "Redis is never behind MySQL". Every processing
 * worker ticks, but a Redis lock (SET NX PX one interval) lets exactly one worker of all servers sweep
 * per interval:
 * - a claim pending longer than COUPON_PENDING_BOUND_MS whose job is gone (worker died between
 *   the Lua accept and the enqueue, job lost) is enqueued again, as a single-claim job; a failed
 *   job is retried. "Its job" is the batch job CouponStock recorded for the claim if that job
 *   still exists, else the single-claim job `<couponId>:<memberId>` (the sweeper's own, or the
 *   previous release's);
 * - a live coupon whose Redis state is missing or not reconciled on this Redis server is reconciled
 *   with MySQL; once per COUPON_RECONCILE_INTERVAL_MS (another lock) every live coupon is.
 * And at each reconnection of the app's Redis client: the live coupons not reconciled on that server
 * are reconciled at once, and when the server is another one (a restart, a failover, a restore), the
 * claims pending from before it whose jobs vanished with the old data are enqueued again right away,
 * not after the bound (one worker per new server does that).
 */
@Injectable()
export class ClaimSweeper implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ClaimSweeper.name);
  private readonly token = randomUUID();
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;
  private reconnected: Subscription | undefined;
  /** Reconnection passes run one after the other (each waits for the one before). */
  private afterReconnects: Promise<void> = Promise.resolve();
  /** The last reconnection pass, when it failed (a new primary still refusing writes): the next tick runs it again. */
  private unfinished: { connected: RedisConnected; seenAt: number } | undefined;

  constructor(
    private readonly stock: CouponStock,
    private readonly redisServer: RedisServer,
    @InjectQueue(ISSUANCE_QUEUE) private readonly queue: Queue<IssuanceJob>,
    @InjectQueue(ISSUANCE_BATCH_QUEUE) private readonly batchQueue: Queue<IssuanceBatchJob>,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.config.QUEUE_PROCESSORS_ENABLED) return;
    this.timer = setInterval(() => void this.tick(), this.config.COUPON_SWEEP_INTERVAL_MS);
    this.timer.unref();
    this.reconnected = this.redisServer.connected.subscribe((connected) => {
      const seenAt = Date.now();
      this.afterReconnects = this.afterReconnects.then(() => this.afterReconnect({ connected, seenAt }));
    });
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
    this.reconnected?.unsubscribe();
  }

  private async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      if (this.unfinished) {
        const again = this.unfinished;
        this.afterReconnects = this.afterReconnects.then(() => this.afterReconnect(again));
        await this.afterReconnects;
      }
      if (!(await this.stock.takeTurn('sweeper', this.token, this.config.COUPON_SWEEP_INTERVAL_MS))) return;
      const all = await this.stock.takeTurn('reconcile', this.token, this.config.COUPON_RECONCILE_INTERVAL_MS);
      const report = await this.sweep(Date.now(), { reconcileAll: all });
      if (report.reenqueued + report.retried + report.reconciled.length > 0)
        this.logger.log(`sweep: ${JSON.stringify(report)}`);
    } catch (error) {
      this.logger.warn(`sweep failed: ${(error as Error).message}`);
    } finally {
      this.ticking = false;
    }
  }

  /**
   * The app's client is connected again: reconcile what is not reconciled on this server; if it is
   * another server, the claims pending from before it (accepted before `seenAt`) whose jobs are gone
   * are enqueued again now, by one worker per new server. A pass that fails (a new primary refusing
   * writes until its replica has synced) runs again at the next tick, until one succeeds or the
   * client reconnects again.
   */
  private async afterReconnect(pass: { connected: RedisConnected; seenAt: number }): Promise<void> {
    const { connected, seenAt } = pass;
    // A newer connection's pass supersedes an older one that failed.
    if (this.unfinished && this.unfinished.seenAt > seenAt) return;
    this.unfinished = pass;
    try {
      const reconciled = await this.stock.reconcileLive(seenAt);
      const otherServer = connected.changed || reconciled.some((outcome) => outcome.stale);
      if (
        !otherServer ||
        !(await this.stock.takeTurn(`resweep:${connected.runId}`, this.token, 600_000, { retry: true }))
      ) {
        if (reconciled.length > 0) this.logger.log(`reconciled after reconnecting: ${JSON.stringify(reconciled)}`);
        this.unfinished = undefined;
        return;
      }
      const report = { reconciled, ...(await this.sweepPending(seenAt)) };
      this.unfinished = undefined;
      this.logger.warn(
        `after Redis changed (run id ${connected.previousRunId ?? '?'} -> ${connected.runId}): ${report.reconciled.length} coupons reconciled, ${report.reconciled.reduce((n, o) => n + o.restored, 0)} members restored, ${report.reenqueued} pending claims whose jobs were lost enqueued again, ${report.retried} failed jobs retried`,
      );
    } catch (error) {
      this.logger.warn(
        `reconciliation after reconnecting failed (tried again at the next tick): ${(error as Error).message}`,
      );
    }
  }

  /** `reconcileAll`: every live coupon is reconciled, not only those whose state is missing or stale. */
  async sweep(now = Date.now(), options: { reconcileAll?: boolean } = {}): Promise<SweepReport> {
    const reconciled = await this.stock.reconcileLive(now, { all: options.reconcileAll });
    return { reconciled, ...(await this.sweepPending(now - this.config.COUPON_PENDING_BOUND_MS)) };
  }

  /** Claims accepted before `before` and still pending: re-enqueued when their job is gone, retried when it failed. */
  private async sweepPending(before: number): Promise<Omit<SweepReport, 'reconciled'>> {
    const report = { reenqueued: 0, retried: 0 };
    for (const couponId of await this.stock.pendingCoupons()) {
      const stale = await this.stock.pendingSince(couponId, before);
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
