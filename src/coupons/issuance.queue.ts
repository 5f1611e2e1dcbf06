import type { JobOptions } from 'bull';

/** Bull queue of accepted claims waiting to be written to MySQL. */
export const ISSUANCE_QUEUE = 'coupon-issuance';

/** Ids only: the processor reads nothing else, so a replayed job is always current. */
export interface IssuanceJob {
  couponId: string;
  memberId: string;
}

/** Deterministic: adding the same claim twice while it waits is a no-op. */
export const issuanceJobId = (couponId: string, memberId: string): string => `${couponId}:${memberId}`;

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
