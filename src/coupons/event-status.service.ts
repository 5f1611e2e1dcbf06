import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { AppError } from '../common/errors.js';
import type { EventSnapshot } from './claim-window.js';
import { consistentWith, CouponStock } from './coupon-stock.js';
import type { EventStatusDto } from './coupons.dto.js';
import { CouponEventsService } from './coupon-events.service.js';

/** How often a watched event's status is read again in the background. */
const REFRESH_MS = 100;
/** An event is watched for this long after its last poll that accepted a snapshot. */
const WATCH_MS = 5_000;
/** Events watched at once per worker; more are simply read at each poll. */
const MAX_WATCHED = 64;

/** An event whose polls accept a snapshot: its latest status and what it was read from. */
interface Watched {
  event: EventSnapshot;
  status: EventStatusDto;
  readAt: number;
  askedAt: number;
  refreshing: boolean;
}

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
 *
 * A poll that accepts figures up to `maxAgeMs` old (a dashboard) is answered from memory without
 * waiting for Redis or MySQL: under a saturating rush each of those replies waits for another turn
 * of the worker's busy event loop. While such polls keep coming (WATCH_MS), this worker reads the
 * event's status again every REFRESH_MS; `at` says when the figures were read. A snapshot is
 * served only for the very event snapshot it was read with: an admin's change evicts that from
 * the cache, and the next poll reads afresh. Without `maxAgeMs` every poll reads.
 */
@Injectable()
export class EventStatusService implements OnModuleDestroy {
  private readonly logger = new Logger(EventStatusService.name);
  private readonly watched = new Map<string, Watched>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly stock: CouponStock,
    private readonly events: CouponEventsService,
  ) {}

  onModuleDestroy(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.watched.clear();
  }

  /** `maxAgeMs`: the oldest figures this poll accepts (0: read now). */
  async status(eventId: string, maxAgeMs = 0): Promise<EventStatusDto> {
    const event = await this.events.snapshot(eventId);
    if (!event) {
      this.watched.delete(eventId);
      throw new AppError('EVENT_NOT_FOUND', `Event ${eventId} does not exist`);
    }
    const now = Date.now();
    const known = this.watched.get(eventId);
    if (maxAgeMs > 0 && known?.event === event && now - known.readAt <= maxAgeMs) {
      known.askedAt = now;
      return known.status;
    }
    const status = await this.read(event, now);
    // A plain read refreshes a watched event's figures too, without counting as a poll that watches it.
    if (maxAgeMs > 0 || known) this.remember(eventId, event, status, now, maxAgeMs > 0 ? now : 0);
    return status;
  }

  /** `askedAt`: when a poll that accepts figures asked (0: a read no such poll asked for). */
  private remember(eventId: string, event: EventSnapshot, status: EventStatusDto, readAt: number, askedAt: number) {
    const known = this.watched.get(eventId);
    if (known) {
      // A slower read that started earlier never replaces a newer one.
      if (readAt < known.readAt) return;
      Object.assign(known, { event, status, readAt, askedAt: Math.max(askedAt, known.askedAt) });
      return;
    }
    if (this.watched.size >= MAX_WATCHED) return;
    this.watched.set(eventId, { event, status, readAt, askedAt, refreshing: false });
    this.timer ??= setInterval(() => this.refresh(), REFRESH_MS).unref();
  }

  /** Reads each watched event again (one read at a time per event); forgets those no one polls. */
  private refresh(): void {
    const now = Date.now();
    for (const [eventId, known] of this.watched) {
      if (now - known.askedAt > WATCH_MS) {
        this.watched.delete(eventId);
        continue;
      }
      if (known.refreshing) continue;
      known.refreshing = true;
      void this.events
        .snapshot(eventId)
        .then(async (event) => {
          if (!event) return void this.watched.delete(eventId);
          const readAt = Date.now();
          this.remember(eventId, event, await this.read(event, readAt), readAt, 0);
        })
        // The next poll reads for itself when no fresh snapshot is there.
        .catch((error: Error) => this.logger.warn(`event ${eventId} status refresh: ${error.message}`))
        .finally(() => (known.refreshing = false));
    }
    if (this.watched.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private async read(event: EventSnapshot, now: number): Promise<EventStatusDto> {
    const coupons = [...event.coupons].sort((a, b) => Number(a.id) - Number(b.id));
    const ids = coupons.map((coupon) => String(coupon.id));
    const [redis, rows] = await Promise.all([this.stock.status(ids, now), this.stock.rowCounts(ids)]);
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
          reconciled: live.reconciled,
          consistent: consistentWith(live, inMysql),
          acceptedLastMinute: live.acceptedLastMinute,
          claimsPerSecond: Math.round((live.acceptedLastMinute / 60) * 100) / 100,
        };
      }),
    };
  }
}
