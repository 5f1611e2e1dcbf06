import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { parseMetrics, sumOf } from '../testing/metrics.js';
import { setCouponGaugeSource, type CouponGaugeSource } from './coupon.metrics.js';
import { metricsRegistry } from '../metrics/metrics.js';

/** The scrape-time gauges read their source once per scrape, and never answer a scrape with an earlier one's read. */
describe('coupon pending gauges', () => {
  afterEach(() => setCouponGaugeSource(undefined));

  const sourceOf = (state: { pending: number; reads: number }): CouponGaugeSource => ({
    async pending() {
      state.reads++;
      await new Promise((resolve) => setTimeout(resolve, 5));
      return state.pending ? [{ couponId: '7', pending: state.pending, oldestPendingAgeMs: 1_500 }] : [];
    },
    async queueCounts() {
      return { 'coupon-issuance': { waiting: state.pending, active: 0, failed: 0, delayed: 0 } };
    },
    async consistency() {
      return [{ couponId: '7', consistent: state.pending === 0 }];
    },
  });
  const scrape = async (registry: Registry = metricsRegistry) => parseMetrics(await registry.metrics());

  it('a scrape right after another sees claims accepted in between (no reuse of the earlier read)', async () => {
    const state = { pending: 0, reads: 0 };
    setCouponGaugeSource(sourceOf(state));
    expect(sumOf(await scrape(), 'pick_coupon_pending_claims', { coupon: '7' })).toBe(0);
    state.pending = 6;
    const now = await scrape();
    expect(sumOf(now, 'pick_coupon_pending_claims', { coupon: '7' })).toBe(6);
    expect(sumOf(now, 'pick_coupon_oldest_pending_age_seconds', { coupon: '7' })).toBe(1.5);
  });

  it('both pending gauges of one scrape share one read', async () => {
    const state = { pending: 3, reads: 0 };
    setCouponGaugeSource(sourceOf(state));
    await scrape();
    expect(state.reads).toBe(1);
    await scrape();
    expect(state.reads).toBe(2);
  });
});
