import type { JobOptions } from 'bull';
import { createHash } from 'node:crypto';

/**
 * Bull queue of single accepted claims: the sweeper's re-enqueues, and jobs the release before
 * batching left behind (its workers only listen here).
 */
export const ISSUANCE_QUEUE = 'coupon-issuance';

/**
 * Bull queue of batches of accepted claims (one job per coupon per enqueue window of a worker).
 * A queue of its own, not a second shape on ISSUANCE_QUEUE: a worker of the release before
 * batching would read a batch as one claim with `memberId` undefined and fail it 9 times, so
 * during a rolling deploy (or after a rollback) old workers must never see one. A rolled-back
 * deployment still persists them: their claims stay pending, and its sweeper, finding no job
 * `<couponId>:<memberId>`, enqueues them one by one on ISSUANCE_QUEUE.
 */
export const ISSUANCE_BATCH_QUEUE = 'coupon-issuance-batch';

export const ISSUANCE_QUEUES = [ISSUANCE_QUEUE, ISSUANCE_BATCH_QUEUE] as const;

/** Ids only: the processor reads nothing else, so a replayed job is always current. */
export interface IssuanceJob {
  couponId: string;
  memberId: string;
}

/** Accepted claims of one coupon, enqueued together. Ids only, like IssuanceJob. */
export interface IssuanceBatchJob {
  couponId: string;
  memberIds: string[];
}

/** Deterministic: adding the same claim twice while it waits is a no-op. */
export const issuanceJobId = (couponId: string, memberId: string): string => `${couponId}:${memberId}`;

/**
 * Deterministic from the batch's content, whatever the order its claims arrived in: adding the
 * same batch twice while it waits is a no-op. Never numeric (Bull's own ids are) and never of the
 * form `<couponId>:<memberId>` (a digest is not a member id).
 */
export function batchJobId(couponId: string, memberIds: readonly string[]): string {
  const digest = createHash('sha256')
    .update([...memberIds].sort().join(','))
    .digest('base64url');
  return `${couponId}:b${memberIds.length}:${digest}`;
}

export const ISSUANCE_JOB_OPTIONS: JobOptions = {
  // ~2 min of retries (0.5 s doubling) covers a MySQL restart; after that the job is kept as
  // failed for inspection, and the sweeper retries it while its claim is still pending.
  attempts: 9,
  backoff: { type: 'exponential', delay: 500 },
  removeOnComplete: true,
  removeOnFail: false,
};

/** Short locks so a job held by a killed worker is taken over within seconds. */
export const ISSUANCE_QUEUE_SETTINGS = {
  lockDuration: 8_000,
  lockRenewTime: 3_000,
  stalledInterval: 3_000,
  maxStalledCount: 3,
};
