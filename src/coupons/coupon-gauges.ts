import { InjectQueue } from '@nestjs/bull';
import { Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import type { Queue } from 'bull';
import { PENDING_GAUGE_COUPONS, setCouponGaugeSource, type CouponGaugeSource } from './coupon.metrics.js';
import { consistentWith, CouponStock } from './coupon-stock.js';
import { ISSUANCE_BATCH_QUEUE, ISSUANCE_QUEUE } from './issuance.queue.js';

/**
 * Feeds the scrape-time coupon gauges (coupon.metrics.ts) from Redis through CouponStock and the Bull
 * queue, and from MySQL's row counts (CouponStock.rowCounts).
 */
@Injectable()
export class CouponGauges implements CouponGaugeSource, OnModuleInit, OnModuleDestroy {
  constructor(
    private readonly stock: CouponStock,
    @InjectQueue(ISSUANCE_QUEUE) private readonly queue: Queue,
    @InjectQueue(ISSUANCE_BATCH_QUEUE) private readonly batchQueue: Queue,
  ) {}

  onModuleInit(): void {
    setCouponGaugeSource(this);
  }

  onModuleDestroy(): void {
    setCouponGaugeSource(undefined);
  }

  async pending() {
    const coupons = (await this.stock.pendingCoupons())
      .sort((a, b) => Number(a) - Number(b))
      .slice(0, PENDING_GAUGE_COUPONS);
    return (await this.stock.status(coupons)).map(({ couponId, pending, oldestPendingAgeMs }) => ({
      couponId,
      pending,
      oldestPendingAgeMs,
    }));
  }

  /** Both issuance queues (single claims, batches), by queue name. */
  async queueCounts() {
    const read = async (queue: Queue) => {
      const counts = await queue.getJobCounts();
      return { waiting: counts.waiting, active: counts.active, failed: counts.failed, delayed: counts.delayed };
    };
    const [single, batch] = await Promise.all([read(this.queue), read(this.batchQueue)]);
    return { [this.queue.name]: single, [this.batchQueue.name]: batch };
  }

  /** Rows (one grouped count) and Redis (one pipeline) of the live coupons, read at once as the admin status does. */
  async consistency() {
    const coupons = (await this.stock.liveCoupons())
      .sort((a, b) => Number(a) - Number(b))
      .slice(0, PENDING_GAUGE_COUPONS);
    const [redis, rows] = await Promise.all([this.stock.status(coupons), this.stock.rowCounts(coupons)]);
    return redis.map((status) => ({
      couponId: status.couponId,
      consistent: consistentWith(status, rows.get(status.couponId) ?? 0),
    }));
  }
}
