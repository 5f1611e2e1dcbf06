import { Counter, Gauge } from 'prom-client';
import { withTimeout } from '../common/timeout.js';

/**
 * Metrics of FCFS coupons. Labels stay bounded: results and states are fixed sets; `coupon` appears
 * only on the pending gauges, and only for coupons in the pending index (at most
 * PENDING_GAUGE_COUPONS of them). No member ids, no URLs.
 *
 * The gauges are read from Redis at scrape time and describe the deployment, not the worker: every
 * worker reports the same values, so aggregate them with max(), never sum().
 */

export const claimDecisions = new Counter({
  name: 'pick_coupon_claims_total',
  help: 'Coupon claims by result: accepted, duplicate, sold_out (decided in Redis; accepted and duplicate once REDIS_CLAIM_REPLICAS replicas hold them), unacknowledged (decided, but the replicas did not confirm in time: 503), not_found, not_started, ended (refused in process), unavailable',
  labelNames: ['result'],
});

export const claimsPersisted = new Counter({
  name: 'pick_coupon_claims_persisted_total',
  help: 'Accepted claims whose member_coupon row is in MySQL (counted by the worker that wrote the batch)',
});

export const claimsRefusedPastStock = new Counter({
  name: 'pick_coupon_claims_refused_past_stock_total',
  help: "Accepted claims MySQL refused to write because their coupon's stock was already issued: Redis had accepted past the stock after losing data (a 202 that holds no coupon; each one is an incident)",
});

export const sweeperReenqueued = new Counter({
  name: 'pick_coupon_sweeper_reenqueued_total',
  help: 'Claims pending longer than COUPON_PENDING_BOUND_MS whose job was gone, enqueued again by the sweeper',
});

export const sweeperRetried = new Counter({
  name: 'pick_coupon_sweeper_retried_total',
  help: 'Failed issuance jobs of still-pending claims retried by the sweeper',
});

export const stateRebuilds = new Counter({
  name: 'pick_coupon_state_rebuilds_total',
  help: 'Coupon states reconciled with MySQL because they were missing or stamped by another Redis server (a restart, a failover, a restored backup, a flush)',
});

export const reconcileRestored = new Counter({
  name: 'pick_coupon_reconcile_restored_total',
  help: "Members with a row in MySQL (or a pending claim) that a reconciliation found missing from their coupon's issued set in Redis and put back: Redis had lost them (it was behind MySQL)",
});

/** Most coupons the pending gauges report (the pending index holds only coupons with claims in flight). */
export const PENDING_GAUGE_COUPONS = 100;

/** Where the scrape-time gauges read from: set by CouponMetrics while the app runs. */
export interface CouponGaugeSource {
  pending(): Promise<{ couponId: string; pending: number; oldestPendingAgeMs: number | null }[]>;
  /** Job counts by queue name (the issuance queues: single claims and batches). */
  queueCounts(): Promise<Record<string, Record<(typeof QUEUE_STATES)[number], number>>>;
  /** Whether Redis and MySQL agree, per live coupon (at most PENDING_GAUGE_COUPONS). */
  consistency(): Promise<{ couponId: string; consistent: boolean }[]>;
}

let source: CouponGaugeSource | undefined;

export function setCouponGaugeSource(next: CouponGaugeSource | undefined): void {
  source = next;
}

const SCRAPE_READ_MS = 1_000;

/** A Redis read at scrape time: bounded, and a failure leaves the gauge empty instead of failing the scrape. */
async function read<T>(what: () => Promise<T>): Promise<T | undefined> {
  return withTimeout(Promise.resolve().then(what), SCRAPE_READ_MS, () => new Error('scrape read timed out')).catch(
    () => undefined,
  );
}

// Both pending gauges come from one Redis read per scrape: prom-client collects a registry's metrics
// concurrently, so the second gauge joins the read still in flight. A settled read is never reused (a
// scrape right after another must see the claims accepted in between).
type PendingRows = Awaited<ReturnType<CouponGaugeSource['pending']>>;
let pendingInFlight: Promise<PendingRows | undefined> | undefined;
function pendingSnapshot(): Promise<PendingRows | undefined> {
  if (!source) return Promise.resolve(undefined);
  if (!pendingInFlight) {
    const current = source;
    pendingInFlight = read(() => current.pending())
      .then((r) => r ?? [])
      .finally(() => {
        pendingInFlight = undefined;
      });
  }
  return pendingInFlight;
}

new Gauge({
  name: 'pick_coupon_pending_claims',
  help: 'Accepted claims not yet in MySQL, per coupon in the pending index (deployment-wide: aggregate with max)',
  labelNames: ['coupon'],
  async collect() {
    this.reset();
    for (const coupon of (await pendingSnapshot()) ?? []) this.set({ coupon: coupon.couponId }, coupon.pending);
  },
});

new Gauge({
  name: 'pick_coupon_oldest_pending_age_seconds',
  help: 'Age of the oldest claim not yet in MySQL, per coupon in the pending index (deployment-wide: aggregate with max)',
  labelNames: ['coupon'],
  async collect() {
    this.reset();
    for (const coupon of (await pendingSnapshot()) ?? [])
      this.set({ coupon: coupon.couponId }, (coupon.oldestPendingAgeMs ?? 0) / 1000);
  },
});

export const QUEUE_STATES = ['waiting', 'active', 'failed', 'delayed'] as const;

new Gauge({
  name: 'pick_queue_jobs',
  help: 'Bull jobs by queue and state: coupon-issuance (single claims), coupon-issuance-batch (batches of claims); deployment-wide: aggregate with max',
  labelNames: ['queue', 'state'],
  async collect() {
    this.reset();
    const queues = source ? await read(() => source!.queueCounts()) : undefined;
    for (const [queue, counts] of Object.entries(queues ?? {}))
      for (const state of QUEUE_STATES) this.set({ queue, state }, counts[state] ?? 0);
  },
});

new Gauge({
  name: 'pick_coupon_consistent',
  help: "1 when Redis and MySQL agree on a live coupon (its state reconciled on the current Redis server, issued == rows + pending), else 0; the admin status's `consistent`. A claim being written can make it 0 for an instant; deployment-wide: aggregate with min",
  labelNames: ['coupon'],
  async collect() {
    this.reset();
    const coupons = source ? await read(() => source!.consistency()) : undefined;
    for (const coupon of coupons ?? []) this.set({ coupon: coupon.couponId }, coupon.consistent ? 1 : 0);
  },
});
