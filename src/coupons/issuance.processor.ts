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
import { LATE, settleWithin } from '../common/timeout.js';
import { AppError } from '../common/errors.js';
import { FailoverFence } from '../redis/failover-fence.js';
import { ClaimEnqueuer } from './claim-enqueuer.js';
import { CouponStock } from './coupon-stock.js';
import { claimsPersisted, claimsRefusedPastStock } from './coupon.metrics.js';
import { isServiceUnavailable } from '../common/unavailable.js';
import { ISSUANCE_BATCH_QUEUE, ISSUANCE_QUEUE, type IssuanceBatchJob, type IssuanceJob } from './issuance.queue.js';
import { WindowBatch } from './window-batch.js';

/** One Bull job taken by this worker: its claims (one for a single-claim job) and its outcome. */
interface Taken {
  claims: IssuanceJob[];
  resolve: () => void;
  reject: (error: unknown) => void;
}

// Jobs taken within this window go to MySQL together even if COUPON_INSERT_BATCH_MAX rows are not
// reached: latency stays low when traffic is thin.
const BATCH_WINDOW_MS = 5;
// Each shutdown step (pause, close) waits this long at most; PM2's kill_timeout is 15 s.
const SHUTDOWN_WAIT_MS = 6_000;

/**
 * Persists accepted claims from both issuance queues: batch jobs (ClaimEnqueuer: the claims one
 * worker accepted within a few ms) and single-claim jobs (the sweeper's, and the previous
 * release's). Bull hands each worker up to COUPON_QUEUE_CONCURRENCY jobs per queue at once; their
 * rows go out together as one multi-row insert (the UNIQUE(coupon, member) key makes a replay
 * harmless), in a fresh MikroORM context, and only then are the pending marks cleared and the jobs
 * completed. A failed insert fails its jobs, which Bull retries with backoff.
 */
@Injectable()
export class IssuanceProcessor implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger(IssuanceProcessor.name);
  private readonly batch: WindowBatch<Taken>;

  constructor(
    private readonly em: EntityManager,
    private readonly stock: CouponStock,
    private readonly enqueuer: ClaimEnqueuer,
    @InjectQueue(ISSUANCE_QUEUE) private readonly queue: Queue<IssuanceJob>,
    @InjectQueue(ISSUANCE_BATCH_QUEUE) private readonly batchQueue: Queue<IssuanceBatchJob>,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly failoverFence: FailoverFence,
  ) {
    this.batch = new WindowBatch<Taken>({
      windowMs: BATCH_WINDOW_MS,
      max: config.COUPON_INSERT_BATCH_MAX,
      maxInFlight: config.COUPON_INSERTS_IN_FLIGHT,
      sizeOf: (taken) => taken.claims.length,
      send: (taken) => this.write(taken),
      onSendError: (error, taken) => taken.forEach((job) => job.reject(error)),
    });
  }

  private get queues(): Queue[] {
    return [this.queue, this.batchQueue];
  }

  onApplicationBootstrap(): void {
    if (!this.config.QUEUE_PROCESSORS_ENABLED) return;
    const concurrency = this.config.COUPON_QUEUE_CONCURRENCY;
    void this.queue.process(concurrency, (job: Job<IssuanceJob>) =>
      this.persist([{ couponId: job.data.couponId, memberId: job.data.memberId }]),
    );
    void this.batchQueue.process(concurrency, (job: Job<IssuanceBatchJob>) =>
      this.persist(job.data.memberIds.map((memberId) => ({ couponId: job.data.couponId, memberId }))),
    );
    for (const queue of this.queues)
      queue.on('failed', (job, error) =>
        this.logger.warn(`issuance ${job.id} attempt ${job.attemptsMade} failed: ${error.message}`),
      );
  }

  /**
   * Stop taking jobs and wait for the active ones while MySQL is still open. The queues themselves
   * stay open: the HTTP listener is closed only after this hook (Nest's order), and claims it
   * is still draining must be able to enqueue their jobs for the other workers.
   */
  async beforeApplicationShutdown(): Promise<void> {
    if (!this.config.QUEUE_PROCESSORS_ENABLED) return;
    const paused = Promise.all(
      this.queues.map((queue) =>
        queue.pause(true).catch((error: Error) => this.logger.warn(`queue ${queue.name} pause: ${error.message}`)),
      ),
    );
    if ((await settleWithin(paused, SHUTDOWN_WAIT_MS)) === LATE)
      this.logger.warn(`active jobs did not finish within ${SHUTDOWN_WAIT_MS} ms; they are retried elsewhere`);
  }

  /**
   * HTTP is closed now: first the claims it accepted last (still in ClaimEnqueuer's open window, or
   * their add in flight) go to Bull, then the queues close. Bounded: after a Redis restart Bull's
   * close can wait forever on its blocking connection; then its clients are cut (a job cut short is
   * retried elsewhere: the insert is idempotent). Runs before @nestjs/bull's own close of the queues
   * (this module is nearer the root), which then finds them closed.
   */
  async onApplicationShutdown(): Promise<void> {
    if (!this.config.QUEUE_PROCESSORS_ENABLED) return;
    await this.enqueuer.drain();
    const closing = Promise.all(
      this.queues.map((queue) =>
        queue.close().catch((error: Error) => this.logger.warn(`queue ${queue.name} close: ${error.message}`)),
      ),
    );
    if ((await settleWithin(closing, SHUTDOWN_WAIT_MS)) === LATE) {
      this.logger.warn(`queues did not close within ${SHUTDOWN_WAIT_MS} ms; disconnecting them`);
      for (const queue of this.queues) for (const client of queue.clients) client.disconnect();
      await settleWithin(closing, 1000);
    }
  }

  /** Resolves when every claim of one job is in MySQL (or voided) and its pending mark cleared. */
  persist(claims: IssuanceJob[]): Promise<void> {
    return new Promise<void>((resolve, reject) => this.batch.push({ claims, resolve, reject }));
  }

  private async write(jobs: Taken[]): Promise<void> {
    // A failover may be under way: these jobs may come from a primary about to be deposed, whose claims the
    // new one does not count; a row written for them would take stock from a 202 of the new primary.
    // Bull retries them; from the new primary once it is over.
    if (this.failoverFence.raised) {
      const fenced = new AppError('SERVICE_UNAVAILABLE', 'Redis is failing over: claims are written once it is over');
      jobs.forEach((job) => job.reject(fenced));
      return;
    }
    const claims = jobs.flatMap((job) => job.claims);
    let refused: IssuanceJob[];
    try {
      ({ refused } = await insertClaims(this.em, claims));
    } catch (error) {
      // MySQL away: every job fails and Bull retries it (idempotent).
      if (isServiceUnavailable(error)) jobs.forEach((job) => job.reject(error));
      // A bad row (say, a member deleted meanwhile) must not hold the others back: one by one.
      else await this.writeRowByRow(jobs);
      return;
    }
    const refusedKeys = new Set(refused.map(claimKey));
    const persisted = claims.filter((claim) => !refusedKeys.has(claimKey(claim)));
    claimsPersisted.inc(persisted.length);
    try {
      await this.refuse(refused);
      await this.clearPending(persisted);
      jobs.forEach((job) => job.resolve());
    } catch (error) {
      // Rows are in; the marks stay and a retry (or the sweeper) clears them. Idempotent.
      jobs.forEach((job) => job.reject(error));
    }
  }

  /**
   * Each claim on its own: a claim whose member (or coupon) was deleted after it was accepted can
   * never become a row, so it is voided in Redis (frees the slot) instead of retried forever; any
   * other failure fails that claim's job only (once MySQL is found away, the rest are not tried).
   * The rows that did go in are cleared, whichever job they belong to; a failed job's retry
   * replays them harmlessly.
   */
  private async writeRowByRow(jobs: Taken[]): Promise<void> {
    const persisted: IssuanceJob[] = [];
    const failures = new Map<Taken, unknown>();
    let unavailable: unknown;
    for (const job of jobs) {
      for (const claim of job.claims) {
        try {
          if (unavailable) throw unavailable;
          const { refused } = await insertClaims(this.em, [claim]);
          if (refused.length > 0) await this.refuse(refused);
          else persisted.push(claim);
        } catch (error) {
          if (!unavailable && isMissingReference(error)) {
            await this.voidClaim(claim).catch((voidError: unknown) => {
              if (!failures.has(job)) failures.set(job, voidError);
            });
            continue;
          }
          if (isServiceUnavailable(error)) unavailable = error;
          if (!failures.has(job)) failures.set(job, error);
        }
      }
    }
    claimsPersisted.inc(persisted.length);
    try {
      await this.clearPending(persisted);
    } catch (error) {
      jobs.forEach((job) => job.reject(error));
      return;
    }
    for (const job of jobs) {
      if (failures.has(job)) job.reject(failures.get(job));
      else job.resolve();
    }
  }

  /**
   * Claims MySQL refused: their coupon's stock was gone when they came to be written. Redis accepted
   * them, so it had forgotten some of the claims MySQL holds (it came back with older data, or a
   * replica took over without them, while those claims were still being written): it is brought up
   * to MySQL first (every row's member back in its issued set: no further claim is accepted past the
   * stock), then the refused claims are voided; their members were answered 202 and hold no coupon.
   * Counted and logged as errors: each is a 202 that Pick could not honour.
   */
  private async refuse(refused: IssuanceJob[]): Promise<void> {
    for (const [couponId, ofCoupon] of Map.groupBy(refused, (claim) => claim.couponId)) {
      claimsRefusedPastStock.inc(ofCoupon.length);
      this.logger.error(
        `coupon ${couponId}: ${ofCoupon.length} accepted claim(s) refused by MySQL, its stock is issued (Redis had accepted past it; members ${ofCoupon
          .slice(0, 20)
          .map((claim) => claim.memberId)
          .join(', ')}${ofCoupon.length > 20 ? ', …' : ''})`,
      );
      await this.stock.reconcile(couponId, { always: true });
      for (const claim of ofCoupon) await this.stock.voidClaim(claim.couponId, claim.memberId);
    }
  }

  private async voidClaim({ couponId, memberId }: IssuanceJob): Promise<void> {
    this.logger.error(`claim ${couponId}:${memberId} voided: its member or coupon no longer exists`);
    await this.stock.voidClaim(couponId, memberId);
  }

  private async clearPending(claims: IssuanceJob[]): Promise<void> {
    await Promise.all(
      [...Map.groupBy(claims, (claim) => claim.couponId)].map(([couponId, ofCoupon]) =>
        this.stock.clearPending(
          couponId,
          ofCoupon.map((claim) => claim.memberId),
        ),
      ),
    );
  }
}

const claimKey = (claim: IssuanceJob) => `${claim.couponId}:${claim.memberId}`;

// ER_NO_REFERENCED_ROW(_2): a foreign key points nowhere.
const isMissingReference = (error: unknown) =>
  /ER_NO_REFERENCED_ROW|foreign key constraint fails/i.test(
    `${(error as { code?: string }).code ?? ''} ${(error as Error).message ?? ''}`,
  );

/** What one insert did: the claims MySQL refused because their coupon had no stock left for them. */
export interface InsertOutcome {
  refused: IssuanceJob[];
}

/**
 * Writes claims as member_coupon rows, admitting none past a coupon's stock: MySQL is the stock's last word,
 * so a Redis that accepted more than the stock (it came back with older data while claims it had forgotten
 * were still being written) cannot put a coupon past it. The claims already written are set aside (a replay
 * is a no-op); the refused are returned.
 *
 * One transaction per coupon, in one round trip (`writeClaims`): the rows go in, then
 * `coupon_issued.issued_count` grows by exactly the rows inserted, only if it stays within `max_issuance`,
 * then commit. The count and its rows commit together: a worker killed in between leaves neither (a count
 * reserved by a statement of its own outlived a worker killed before its insert, and refused that batch's
 * retry: 3 of 300 202s without a row in the kill -9 fault test). A batch that does not fit (or the
 * coupon's first, before its count exists) is rolled back and written by `writeWhatIsLeft`.
 */
export async function insertClaims(em: EntityManager, jobs: IssuanceJob[]): Promise<InsertOutcome> {
  if (jobs.length === 0) return { refused: [] };
  const byCoupon = Map.groupBy(jobs, (job) => job.couponId);
  const couponIds = [...byCoupon.keys()].sort((a, b) => Number(a) - Number(b));
  const refused: IssuanceJob[] = [];
  for (const couponId of couponIds) {
    const claims = [...new Set(byCoupon.get(couponId)!.map((job) => job.memberId))].map((memberId) => ({
      couponId,
      memberId,
    }));
    const fitted = await writeClaims(em, couponId, claims);
    if (!fitted) refused.push(...(await writeWhatIsLeft(em, couponId, claims)));
  }
  return { refused };
}

/**
 * The coupon's claims in one round trip (the `coupon_write_claims` procedure, migrations/Migration20261207170000.ts):
 * rows and count in one transaction, committed only if the count stays within the stock. Server-side because
 * the count's row lock is held from its update to the commit: driven from a worker whose event loop is busy
 * with claims, one coupon's batches queued behind each other (the drain, src/coupons/README.md). False when
 * the batch does not fit (or the coupon's count does not exist yet): nothing of it was written.
 */
async function writeClaims(em: EntityManager, couponId: string, claims: IssuanceJob[]): Promise<boolean> {
  const run = statements(em);
  const result = await run('call coupon_write_claims(?, ?)', [
    couponId,
    JSON.stringify(claims.map((claim) => claim.memberId)),
  ]);
  // A CALL answers its SELECT's rows, then the statement's own status.
  const [[outcome]] = result as unknown as [{ inserted: number; fitted: number }[]];
  if (!Number(outcome.fitted)) return false;
  await failIfGone(run, couponId, claims, Number(outcome.inserted));
  return true;
}

type Run = <T extends Record<string, unknown>[]>(sql: string, params: unknown[], method?: 'all' | 'run') => Promise<T>;

/** Raw statements, inside `em`'s transaction when it is one of MikroORM's transactions. */
function statements(em: EntityManager): Run {
  const connection = em.getConnection();
  const ctx = em.getTransactionContext();
  return (sql, params, method = 'all') => connection.execute(sql, params, method, ctx);
}

/** The rows a 'run' statement inserted (INSERT IGNORE counts only those). */
const affectedRows = (result: unknown) => Number((result as { affectedRows?: number }).affectedRows ?? 0);

/**
 * What is left of the coupon's stock goes to its unwritten claims, under its count's row lock (made at
 * the coupon's first batch); the rest are returned, refused. This
 * transaction's reads start after the lock: it sees every row whose count is in.
 */
async function writeWhatIsLeft(em: EntityManager, couponId: string, claims: IssuanceJob[]): Promise<IssuanceJob[]> {
  // A coupon's count starts at 0 with its first batch (the migration counted the rows of older coupons), by
  // a statement of its own: inside the transaction, its shared lock on a count another batch made first
  // would have to become the FOR UPDATE's exclusive one, and two such batches deadlock.
  await em
    .getConnection()
    .execute(
      `insert ignore into coupon_issued (coupon_id, issued_count) select id, 0 from coupon where id = ?`,
      [couponId],
      'run',
    );
  return em.fork().transactional(async (tx) => {
    const run = statements(tx);
    const [stock] = await run<{ issued_count: number }[]>(
      `select issued_count from coupon_issued where coupon_id = ? for update`,
      [couponId],
    );
    const [coupon] = await run<{ max_issuance: number }[]>(`select max_issuance from coupon where id = ?`, [couponId]);
    const fresh = await unwritten(run, couponId, claims);
    // A coupon that is gone: its claims are tried anyway, and fail as a foreign-key error (the caller voids them).
    const left = stock && coupon ? Math.max(0, Number(coupon.max_issuance) - Number(stock.issued_count)) : fresh.length;
    const admitted = fresh.slice(0, left);
    if (admitted.length > 0) {
      const inserted = await insertExactly(run, couponId, admitted);
      await run(
        `update coupon_issued set issued_count = issued_count + ? where coupon_id = ?`,
        [inserted, couponId],
        'run',
      );
    }
    return fresh.slice(left);
  });
}

/** Those of the coupon's claims (one per member, as insertClaims makes them) with no row yet. */
async function unwritten(run: Run, couponId: string, claims: IssuanceJob[]): Promise<IssuanceJob[]> {
  const memberIds = claims.map((job) => job.memberId);
  const written = new Set(
    (
      await run<{ member_id: string | number }[]>(
        `select member_id from member_coupon where coupon_id = ? and member_id in (${memberIds.map(() => '?').join(', ')})`,
        [couponId, ...memberIds],
      )
    ).map((row) => String(row.member_id)),
  );
  return memberIds.filter((memberId) => !written.has(memberId)).map((memberId) => ({ couponId, memberId }));
}

/**
 * Inserts claims and answers how many rows went in: INSERT IGNORE counts only what it inserted (not a row a
 * replay racing its own original wrote first), so the count grows by exactly the rows. A claim whose member
 * or coupon is gone fails as a foreign-key error (its transaction rolls back; the caller voids it).
 */
async function insertExactly(run: Run, couponId: string, claims: IssuanceJob[]): Promise<number> {
  const result = await run(
    `insert ignore into member_coupon (created_at, updated_at, coupon_id, member_id) values ${claims.map(() => '(utc_timestamp(3), utc_timestamp(3), ?, ?)').join(', ')}`,
    claims.flatMap((job) => [job.couponId, job.memberId]),
    'run',
  );
  const inserted = affectedRows(result);
  await failIfGone(run, couponId, claims, inserted);
  return inserted;
}

/**
 * After an INSERT IGNORE of `claims` that inserted `inserted` rows: the skipped ones are replays (written
 * before) or claims whose member or coupon is gone, which fail here as a foreign-key error (the caller
 * voids them).
 */
async function failIfGone(run: Run, couponId: string, claims: IssuanceJob[], inserted: number): Promise<void> {
  if (inserted >= claims.length) return;
  const missing = await unwritten(run, couponId, claims);
  if (missing.length > 0)
    throw Object.assign(
      new Error(
        `foreign key constraint fails: coupon ${couponId} or member ${missing.map((claim) => claim.memberId).join(', ')} is gone`,
      ),
      { code: 'ER_NO_REFERENCED_ROW_2' },
    );
}
