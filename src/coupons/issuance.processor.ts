import { EntityManager } from '@mikro-orm/mysql';
import { InjectQueue } from '@nestjs/bull';
import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import type { Job, Queue } from 'bull';
import type { AppConfig } from '../../config/env.js';
import { APP_CONFIG } from '../common/config.module.js';
import { CouponStock } from './coupon-stock.js';
import { claimsPersisted } from './coupon.metrics.js';
import { isServiceUnavailable } from '../common/unavailable.js';
import { ISSUANCE_QUEUE, type IssuanceJob } from './issuance.queue.js';

interface Waiting {
  job: IssuanceJob;
  resolve: () => void;
  reject: (error: unknown) => void;
}

// A batch leaves after this long even if not full: latency stays low when traffic is thin.
const BATCH_WINDOW_MS = 5;
// Each shutdown step (pause, close) waits this long at most; PM2's kill_timeout is 15 s.
const SHUTDOWN_WAIT_MS = 6_000;

async function withinShutdownWait<T>(step: Promise<T>): Promise<T | 'late'> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), SHUTDOWN_WAIT_MS)));
  try {
    return await Promise.race([step, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Persists accepted claims. Bull hands each worker up to COUPON_QUEUE_CONCURRENCY jobs at once;
 * their rows go out together as one multi-row insert (the UNIQUE(coupon, member) key makes
 * a replay harmless), in a fresh MikroORM context, and only then are the pending marks cleared
 * and the jobs completed. A failed batch fails its jobs, which Bull retries with backoff.
 */
@Injectable()
export class IssuanceProcessor implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger(IssuanceProcessor.name);
  private batch: Waiting[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly em: EntityManager,
    private readonly stock: CouponStock,
    @InjectQueue(ISSUANCE_QUEUE) private readonly queue: Queue<IssuanceJob>,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.config.QUEUE_PROCESSORS_ENABLED) return;
    void this.queue.process(this.config.COUPON_QUEUE_CONCURRENCY, (job: Job<IssuanceJob>) => this.persist(job.data));
    this.queue.on('failed', (job, error) =>
      this.logger.warn(`issuance ${job.id} attempt ${job.attemptsMade} failed: ${error.message}`),
    );
  }

  /**
   * Stop taking jobs and wait for the active ones while MySQL is still open. The queue itself
   * stays open: the HTTP listener is closed only after this hook (Nest's order), and claims it
   * is still draining must be able to enqueue their jobs for the other workers.
   */
  async beforeApplicationShutdown(): Promise<void> {
    if (!this.config.QUEUE_PROCESSORS_ENABLED) return;
    const paused = this.queue.pause(true).then(
      () => 'paused' as const,
      (error: Error) => this.logger.warn(`queue pause: ${error.message}`),
    );
    if ((await withinShutdownWait(paused)) === 'late')
      this.logger.warn(`active jobs did not finish within ${SHUTDOWN_WAIT_MS} ms; they are retried elsewhere`);
  }

  /**
   * HTTP is closed now: close the queue. Bounded: after a Redis restart Bull's close can wait
   * forever on its blocking connection; then its clients are cut (a job cut short is retried
   * elsewhere: the insert is idempotent). Runs before @nestjs/bull's own close of the queue
   * (this module is nearer the root), which then finds it closed.
   */
  async onApplicationShutdown(): Promise<void> {
    if (!this.config.QUEUE_PROCESSORS_ENABLED) return;
    const closing = this.queue.close().then(
      () => 'closed' as const,
      (error: Error) => this.logger.warn(`queue close: ${error.message}`),
    );
    if ((await withinShutdownWait(closing)) === 'late') {
      this.logger.warn(`queue did not close within ${SHUTDOWN_WAIT_MS} ms; disconnecting it`);
      for (const client of this.queue.clients) client.disconnect();
      await Promise.race([closing, new Promise((resolve) => setTimeout(resolve, 1000))]);
    }
  }

  persist(job: IssuanceJob): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.batch.push({ job, resolve, reject });
      if (this.batch.length >= this.config.COUPON_INSERT_BATCH_MAX) this.flushNow();
      else this.timer ??= setTimeout(() => this.flushNow(), BATCH_WINDOW_MS);
    });
  }

  private flushNow(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const items = this.batch;
    this.batch = [];
    if (items.length > 0) void this.write(items);
  }

  private async write(items: Waiting[]): Promise<void> {
    try {
      await insertClaims(
        this.em,
        items.map((item) => item.job),
      );
      claimsPersisted.inc(items.length);
    } catch (error) {
      if (items.length === 1 && isMissingReference(error)) {
        // The member (or coupon) was deleted after the claim: it can never become a row. Void it
        // in Redis (frees the slot) instead of retrying forever.
        await this.voidClaim(items[0]).catch((voidError: unknown) => items[0].reject(voidError));
        return;
      }
      if (items.length === 1 || isServiceUnavailable(error)) {
        items.forEach((item) => item.reject(error));
        return;
      }
      // A bad row (say, a member deleted meanwhile) must not hold the others back: one by one.
      for (const item of items) await this.write([item]);
      return;
    }
    try {
      await this.clearPending(items.map((item) => item.job));
      items.forEach((item) => item.resolve());
    } catch (error) {
      // Rows are in; the marks stay and a retry (or the sweeper) clears them. Idempotent.
      items.forEach((item) => item.reject(error));
    }
  }

  private async voidClaim(item: Waiting): Promise<void> {
    const { couponId, memberId } = item.job;
    this.logger.error(`claim ${couponId}:${memberId} voided: its member or coupon no longer exists`);
    await this.stock.voidClaim(couponId, memberId);
    item.resolve();
  }

  private async clearPending(jobs: IssuanceJob[]): Promise<void> {
    const byCoupon = new Map<string, string[]>();
    for (const job of jobs) byCoupon.set(job.couponId, [...(byCoupon.get(job.couponId) ?? []), job.memberId]);
    await Promise.all([...byCoupon].map(([couponId, memberIds]) => this.stock.clearPending(couponId, memberIds)));
  }
}

// ER_NO_REFERENCED_ROW(_2): a foreign key points nowhere.
const isMissingReference = (error: unknown) =>
  /ER_NO_REFERENCED_ROW|foreign key constraint fails/i.test(
    `${(error as { code?: string }).code ?? ''} ${(error as Error).message ?? ''}`,
  );

/**
 * One multi-row insert in its own context. ON DUPLICATE KEY (not INSERT IGNORE, which would
 * also swallow a foreign-key failure): only the UNIQUE(coupon, member) key turns a replay into a no-op.
 */
export async function insertClaims(em: EntityManager, jobs: IssuanceJob[]): Promise<void> {
  if (jobs.length === 0) return;
  const values = jobs.map(() => '(utc_timestamp(3), utc_timestamp(3), ?, ?)').join(', ');
  const params = jobs.flatMap((job) => [job.couponId, job.memberId]);
  await em
    .fork()
    .getConnection()
    .execute(
      `insert into member_coupon (created_at, updated_at, coupon_id, member_id) values ${values} on duplicate key update id = id`,
      params,
      'run',
    );
}
