import { EntityManager } from '@mikro-orm/mysql';
import { CACHE_MANAGER, type Cache } from '@nestjs/cache-manager';
import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import type { AppConfig } from '../../config/env.js';
import { Broadcaster } from '../cache/broadcaster.js';
import { ReadThroughCache } from '../cache/read-through-cache.js';
import { Broadcasts } from '../common/broadcast.js';
import { APP_CONFIG } from '../common/config.module.js';
import { AppError } from '../common/errors.js';
import { TransportState } from '../redis/transport-state.js';
import type { CouponSnapshot, EventSnapshot } from './claim-window.js';
import { Coupon } from './coupon.entity.js';
import { CouponStock } from './coupon-stock.js';
import type {
  CouponDto,
  CreateCouponDto,
  CreateEventDto,
  EventDto,
  UpdateCouponDto,
  UpdateEventDto,
} from './coupons.dto.js';
import { CouponEvent } from './coupon-event.entity.js';

function toSnapshot(event: CouponEvent): EventSnapshot {
  return {
    id: String(event.id),
    title: event.title,
    startsAt: event.startsAt.getTime(),
    endsAt: event.endsAt.getTime(),
    coupons: event.coupons.getItems().map((coupon) => ({
      id: String(coupon.id),
      name: coupon.name,
      discountType: coupon.discountType,
      discountValue: coupon.discountValue,
      minimumProductPrice: coupon.minimumProductPrice,
      validFrom: coupon.validFrom.getTime(),
      validUntil: coupon.validUntil.getTime(),
      maxIssuance: coupon.maxIssuance,
    })),
  };
}

function couponDto(coupon: CouponSnapshot, remaining?: number | null): CouponDto {
  return {
    id: coupon.id,
    name: coupon.name,
    discountType: coupon.discountType as CouponDto['discountType'],
    discountValue: coupon.discountValue,
    minimumProductPrice: coupon.minimumProductPrice,
    validFrom: new Date(coupon.validFrom).toISOString(),
    validUntil: new Date(coupon.validUntil).toISOString(),
    maxIssuance: coupon.maxIssuance,
    ...(remaining !== undefined && { remaining }),
  };
}

export function eventDto(event: EventSnapshot, remaining?: (number | null)[]): EventDto {
  return {
    id: event.id,
    title: event.title,
    startsAt: new Date(event.startsAt).toISOString(),
    endsAt: new Date(event.endsAt).toISOString(),
    coupons: event.coupons.map((coupon, index) => couponDto(coupon, remaining?.[index])),
  };
}

const time = (iso: string) => new Date(iso);

/**
 * Events and their coupons: admin writes (MySQL first, then Redis stock, then the broadcast),
 * and the snapshot every claim reads, cached in this worker (ReadThroughCache: one load per
 * key, a load in flight at an invalidation never stored, all dropped when the transport
 * reconnects) and evicted on every worker by `coupon.changed`.
 */
@Injectable()
export class CouponEventsService implements OnModuleDestroy {
  private readonly logger = new Logger(CouponEventsService.name);
  private readonly snapshots: ReadThroughCache<'event'>;

  constructor(
    private readonly em: EntityManager,
    @Inject(CACHE_MANAGER) cache: Cache,
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly broadcaster: Broadcaster,
    private readonly stock: CouponStock,
    transport: TransportState,
  ) {
    this.snapshots = new ReadThroughCache(cache, transport, {
      namespace: 'coupons',
      groups: ['event'],
      enabled: true,
      missTtlMs: config.CACHE_MISS_TTL_MS,
    });
  }

  onModuleDestroy(): void {
    this.snapshots.close();
  }

  async create(body: CreateEventDto): Promise<EventDto> {
    const startsAt = time(body.startsAt);
    const endsAt = time(body.endsAt);
    this.checkEventWindow(startsAt, endsAt);
    body.coupons.forEach((coupon, index) => this.checkNewCoupon(coupon, startsAt, `coupons.${index}`));
    const em = this.em.fork();
    const event = em.create(CouponEvent, { title: body.title, startsAt, endsAt });
    for (const coupon of body.coupons) event.coupons.add(em.create(Coupon, this.couponFields(coupon, event)));
    await em.persist(event).flush();
    const snapshot = toSnapshot(event);
    // A scan may have cached this id as unknown ("nothing found" is kept CACHE_MISS_TTL_MS): drop it everywhere.
    await this.changed(snapshot.id);
    // Stock is initialised now when Redis answers; otherwise the first claim (or the sweeper) builds it.
    await Promise.all(snapshot.coupons.map((coupon) => this.stock.init(coupon.id, coupon.maxIssuance))).catch(
      (error: Error) =>
        this.logger.warn(`coupon stock not initialised now (${error.message}); it will be built on first use`),
    );
    return eventDto(snapshot);
  }

  async update(id: string, body: UpdateEventDto): Promise<EventDto> {
    const em = this.em.fork();
    const event = await em.findOne(CouponEvent, { id }, { populate: ['coupons'] });
    if (!event) throw new AppError('EVENT_NOT_FOUND', `Event ${id} does not exist`);
    if (body.title !== undefined) event.title = body.title;
    if (body.startsAt !== undefined) event.startsAt = time(body.startsAt);
    if (body.endsAt !== undefined) event.endsAt = time(body.endsAt);
    this.checkEventWindow(event.startsAt, event.endsAt);

    const byId = new Map(event.coupons.getItems().map((coupon) => [String(coupon.id), coupon]));
    // Limits lowered in Redis before the commit (restored if the commit fails), and limits raised (or
    // restated) after it: MySQL's limit is never below Redis', so the issuance insert, which admits no row
    // past MySQL's, never refuses a claim Redis accepted under a raise.
    const limitChanges: { coupon: Coupon; from: number; to: number }[] = [];
    const limitRaises: { coupon: Coupon; to: number }[] = [];
    for (const [index, input] of (body.coupons ?? []).entries()) {
      const field = `coupons.${index}`;
      if (input.id === undefined) {
        const full = this.requireFull(input, field);
        this.checkNewCoupon(full, event.startsAt, field);
        event.coupons.add(em.create(Coupon, this.couponFields(full, event)));
        continue;
      }
      const coupon = byId.get(input.id);
      if (!coupon) throw new AppError('COUPON_NOT_FOUND', `Coupon ${input.id} is not part of event ${id}`);
      const { id: _id, validFrom, validUntil, maxIssuance, ...rest } = input;
      em.assign(coupon, rest);
      if (validFrom !== undefined) coupon.validFrom = time(validFrom);
      if (validUntil !== undefined) coupon.validUntil = time(validUntil);
      this.checkCoupon(coupon, field);
      // A restated limit is sent to Redis too: it heals a raise whose Redis half failed after the commit.
      if (maxIssuance !== undefined && maxIssuance < coupon.maxIssuance)
        limitChanges.push({ coupon, from: coupon.maxIssuance, to: maxIssuance });
      else if (maxIssuance !== undefined) limitRaises.push({ coupon, to: maxIssuance });
      if (maxIssuance !== undefined) coupon.maxIssuance = maxIssuance;
    }

    // The limit is decided atomically against the claims in Redis: lowering it below what is
    // already issued is refused (409), and no claim can slip in between the check and the change.
    const applied: typeof limitChanges = [];
    try {
      for (const change of limitChanges) {
        await this.stock.setMax(String(change.coupon.id), change.to);
        applied.push(change);
      }
      await em.flush();
    } catch (error) {
      for (const change of applied)
        await this.stock.setMax(String(change.coupon.id), change.from).catch(() => undefined);
      throw error;
    }
    // Committed: a failure here leaves Redis' limit below MySQL's (never past the stock); the admin's
    // retry of the same update sends it again.
    let raiseFailed: unknown;
    for (const raise of limitRaises)
      await this.stock.setMax(String(raise.coupon.id), raise.to).catch((error: unknown) => (raiseFailed ??= error));
    const snapshot = toSnapshot(event);
    await Promise.all(
      snapshot.coupons
        .filter((coupon) => !byId.has(coupon.id))
        .map((coupon) => this.stock.init(coupon.id, coupon.maxIssuance)),
    ).catch((error: Error) =>
      this.logger.warn(`new coupon stock not initialised now (${error.message}); built on first use`),
    );
    await this.changed(snapshot.id);
    if (raiseFailed !== undefined) throw raiseFailed;
    return eventDto(snapshot);
  }

  /** The event with each coupon's remaining stock (null for a coupon whose stock Redis cannot tell now). */
  async publicEvent(eventId: string): Promise<EventDto> {
    const event = await this.snapshot(eventId);
    if (!event) throw new AppError('EVENT_NOT_FOUND', `Event ${eventId} does not exist`);
    const remaining = await Promise.all(
      event.coupons.map((coupon) => this.stock.remaining(coupon.id).catch(() => null)),
    );
    return eventDto(event, remaining);
  }

  /** The cached snapshot (this worker's memory), loaded once per key on a miss; a cache failure falls through to MySQL. */
  snapshot(eventId: string): Promise<EventSnapshot | null> {
    return this.snapshots.read('event', eventId, () => this.load(eventId));
  }

  private async load(eventId: string): Promise<EventSnapshot | null> {
    const event = await this.em.fork().findOne(CouponEvent, { id: eventId }, { populate: ['coupons'] });
    return event ? toSnapshot(event) : null;
  }

  /** Handler side of `coupon.changed` (CouponBroadcastsController): every worker of every server evicts its copy. */
  async onCouponChanged(message: unknown): Promise<void> {
    if (!this.broadcaster.accepts(Broadcasts.COUPON_CHANGED, message) || typeof message.eventId !== 'string') return;
    await this.snapshots.evict('event', message.eventId, 'broadcast');
  }

  /**
   * After commit: evict here (this worker reads its own write), then tell every worker of every
   * server without waiting. A broadcast failure (Redis down) never fails the write; it is
   * resent when the publisher is back, and a worker that missed it drops all when it reconnects.
   */
  private async changed(eventId: string): Promise<void> {
    await this.snapshots.evict('event', eventId, 'write');
    void this.broadcaster.publishCommitted(Broadcasts.COUPON_CHANGED, { eventId });
  }

  private couponFields(input: CreateCouponDto, event: CouponEvent) {
    return {
      event,
      name: input.name,
      discountType: input.discountType,
      discountValue: input.discountValue,
      minimumProductPrice: input.minimumProductPrice,
      validFrom: time(input.validFrom),
      validUntil: time(input.validUntil),
      maxIssuance: input.maxIssuance,
    };
  }

  private requireFull(input: UpdateCouponDto, field: string): CreateCouponDto {
    const required = [
      'name',
      'discountType',
      'discountValue',
      'minimumProductPrice',
      'validFrom',
      'validUntil',
      'maxIssuance',
    ] as const;
    const missing = required.filter((key) => input[key] === undefined);
    if (missing.length > 0)
      throw new AppError(
        'VALIDATION_FAILED',
        'A new coupon needs every field',
        missing.map((key) => ({ field: `${field}.${key}`, errors: [`${key} is required for a new coupon`] })),
      );
    return input as CreateCouponDto;
  }

  private checkEventWindow(startsAt: Date, endsAt: Date): void {
    if (endsAt <= startsAt) throw this.invalid('endsAt', 'endsAt must be after startsAt');
  }

  /** A coupon as added (to a new event or by a PATCH): the coupon rules, and still valid when its event starts. */
  private checkNewCoupon(input: CreateCouponDto, eventStartsAt: Date, field: string): void {
    const coupon = { ...input, validFrom: time(input.validFrom), validUntil: time(input.validUntil) };
    this.checkCoupon(coupon, field, eventStartsAt);
  }

  /**
   * The coupon rules, for a new coupon and for one a PATCH changed alike; `eventStartsAt`: a new coupon
   * must also still be valid when its event starts (a change to an existing one is not held to it).
   */
  private checkCoupon(
    coupon: Pick<Coupon, 'validFrom' | 'validUntil' | 'discountType' | 'discountValue'>,
    field: string,
    eventStartsAt?: Date,
  ): void {
    if (coupon.validUntil <= coupon.validFrom)
      throw this.invalid(`${field}.validUntil`, 'validUntil must be after validFrom');
    if (eventStartsAt && coupon.validUntil <= eventStartsAt)
      throw this.invalid(`${field}.validUntil`, 'the coupon must still be valid when the event starts');
    if (coupon.discountType === 'PERCENTAGE' && coupon.discountValue > 100)
      throw this.invalid(`${field}.discountValue`, 'a percentage is at most 100');
  }

  private invalid(field: string, message: string): AppError {
    return new AppError('VALIDATION_FAILED', message, [{ field, errors: [message] }]);
  }
}
