import { EntityManager } from '@mikro-orm/mysql';
import { Injectable } from '@nestjs/common';
import { AppError } from '../common/errors.js';
import { CouponStock } from './coupon-stock.js';
import type { EventStatusDto } from './coupons.dto.js';
import { EventsService } from './events.service.js';

/**
 * Live status of an event's coupons for admins: O(coupons) reads, whatever the stock. The event
 * and its coupons from the worker's snapshot cache (what claims are decided on; every write evicts
 * it everywhere), one pipelined Redis round trip through CouponStock, one grouped count of rows
 * (the UNIQUE(coupon, member) index): safe to poll each second during a rush.
 *
 * Redis and MySQL are read at once (during a rush each read waits its turn in a busy event loop;
 * one after the other, the poll waited for both turns). A claim persisted while they are in flight
 * may be counted in both reads or in neither (a processor writes the row, then clears the pending
 * mark), so `consistent` can be false for that instant; once no claim is in flight the figures
 * agree exactly.
 */
@Injectable()
export class EventStatusService {
  constructor(
    private readonly em: EntityManager,
    private readonly stock: CouponStock,
    private readonly events: EventsService,
  ) {}

  async status(eventId: string): Promise<EventStatusDto> {
    const event = await this.events.snapshot(eventId);
    if (!event) throw new AppError('EVENT_NOT_FOUND', `Event ${eventId} does not exist`);
    const coupons = [...event.coupons].sort((a, b) => Number(a.id) - Number(b.id));
    const ids = coupons.map((coupon) => String(coupon.id));
    const now = Date.now();
    const [redis, counted] = await Promise.all([
      this.stock.status(ids, now),
      ids.length === 0
        ? []
        : this.em
            .getConnection()
            .execute<{ coupon_id: string | number; n: string | number }[]>(
              `select coupon_id, count(*) n from member_coupon where coupon_id in (${ids.map(() => '?').join(', ')}) group by coupon_id`,
              ids,
            ),
    ]);
    const rows = new Map(counted.map((row) => [String(row.coupon_id), Number(row.n)]));
    return {
      eventId: String(event.id),
      title: event.title,
      at: new Date(now).toISOString(),
      coupons: coupons.map((coupon, i) => {
        const live = redis[i];
        const inMysql = rows.get(String(coupon.id)) ?? 0;
        return {
          couponId: String(coupon.id),
          name: coupon.name,
          max: coupon.maxIssuance,
          issued: live.issued,
          remaining: Math.max(0, coupon.maxIssuance - live.issued),
          pending: live.pending,
          oldestPendingAgeMs: live.oldestPendingAgeMs,
          rows: inMysql,
          stateInRedis: live.stateInRedis,
          consistent: live.stateInRedis && live.issued === inMysql + live.pending,
          acceptedLastMinute: live.acceptedLastMinute,
          claimsPerSecond: Math.round((live.acceptedLastMinute / 60) * 100) / 100,
        };
      }),
    };
  }
}
