import { CACHE_MANAGER, type Cache } from '@nestjs/cache-manager';
import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { ClientProxy } from '@nestjs/microservices';
import { firstValueFrom, Subscription, timeout } from 'rxjs';
import type { AppConfig } from '../../config/env.js';
import { BROADCAST_CLIENT, BroadcastEvents, type ProductChangedEvent } from '../common/broadcast.js';
import { APP_CONFIG } from '../common/config.module.js';
import { POSITIVE_ID } from '../common/validation.js';
import { broadcastFailures, cacheCoalesced, cacheEvictions, cacheHits, cacheMisses, cacheStaleLoadsDiscarded, invalidationMessages } from '../cache/cache.metrics.js';
import { TransportState } from '../redis/transport-state.js';
import { ProductSort } from './catalog.dto.js';

type CacheName = 'product' | 'product_list';
type EvictionReason = 'write' | 'broadcast' | 'reconnect';

/** A load from MySQL in progress; `stale` is set when an invalidation overtakes it. */
interface Flight {
  cache: CacheName;
  productId?: string;
  stale: boolean;
  promise: Promise<unknown>;
}

export interface ListPageKey {
  sort: ProductSort;
  category?: string;
  lastId?: string;
  lastPrice?: number;
}

const BROADCAST_TIMEOUT_MS = 2000;

/**
 * The catalog's read-through cache in this worker's CACHE_MANAGER (LRU + TTL), and its
 * invalidation across every worker of every server.
 *
 * - Keys are built here only. Each key carries `epoch` (bumped when this worker may have
 *   missed broadcasts) and list keys carry `listGeneration` (bumped by every product change),
 *   so "drop all list pages" is one increment; the LRU reclaims the unreachable entries.
 * - One load per key at a time: concurrent misses share the in-flight promise.
 * - Stale re-insert guard: an invalidation marks the loads in flight for what it covers as
 *   stale and detaches them, so a load that read MySQL before a write and finishes after the
 *   eviction is returned to its own callers but never stored, and later readers start a
 *   fresh load instead of joining it.
 * - `CACHE_ENABLED=false` runs the same path with the store bypassed (benchmark baseline).
 */
@Injectable()
export class CatalogCache implements OnModuleDestroy {
  private readonly logger = new Logger(CatalogCache.name);
  private readonly enabled: boolean;
  private readonly scope: string;
  private readonly flights = new Map<string, Flight>();
  private epoch = 0;
  private listGeneration = 0;
  /** Products whose change could not be broadcast (publisher down): resent when it is back. */
  private readonly undelivered = new Set<string>();
  private readonly subscriptions: Subscription[] = [];

  constructor(
    @Inject(CACHE_MANAGER) private readonly cache: Cache,
    @Inject(APP_CONFIG) config: AppConfig,
    @Inject(BROADCAST_CLIENT) private readonly broadcast: ClientProxy,
    transport: TransportState,
  ) {
    this.enabled = config.CACHE_ENABLED;
    this.scope = config.REDIS_PREFIX;
    this.subscriptions.push(
      transport.resubscribed.subscribe(() => this.evictAll('reconnect')),
      transport.publisherBack.subscribe(() => this.resendUndelivered()),
    );
  }

  onModuleDestroy(): void {
    this.subscriptions.forEach((subscription) => subscription.unsubscribe());
  }

  productKey(productId: string): string {
    return `catalog:${this.epoch}:product:${productId}`;
  }

  listKey(page: ListPageKey): string {
    return `catalog:${this.epoch}:list:${this.listGeneration}:${page.sort}:${page.category ?? '*'}:${page.lastId ?? ''}:${page.lastPrice ?? ''}`;
  }

  product<T>(productId: string, load: () => Promise<T>): Promise<T> {
    return this.read('product', this.productKey(productId), productId, load);
  }

  listPage<T>(page: ListPageKey, load: () => Promise<T>): Promise<T> {
    return this.read('product_list', this.listKey(page), undefined, load);
  }

  private async read<T>(cache: CacheName, key: string, productId: string | undefined, load: () => Promise<T>): Promise<T> {
    if (!this.enabled) return load();
    const joined = this.join<T>(cache, key);
    if (joined) return joined;
    // A broken cache is a miss, never an error.
    const cached = await this.cache.get<T>(key).catch(() => undefined);
    if (cached !== undefined) {
      cacheHits.inc({ cache });
      return cached;
    }
    return this.join<T>(cache, key) ?? this.startLoad(cache, key, productId, load);
  }

  private join<T>(cache: CacheName, key: string): Promise<T> | undefined {
    const flight = this.flights.get(key);
    if (!flight) return undefined;
    cacheCoalesced.inc({ cache });
    return flight.promise as Promise<T>;
  }

  private startLoad<T>(cache: CacheName, key: string, productId: string | undefined, load: () => Promise<T>): Promise<T> {
    cacheMisses.inc({ cache });
    const flight: Flight = { cache, productId, stale: false, promise: Promise.resolve() };
    const promise = (async () => {
      try {
        const value = await load();
        if (flight.stale) {
          cacheStaleLoadsDiscarded.inc({ cache });
          return value;
        }
        await this.cache.set(key, value).catch((error: unknown) => this.logger.warn(`cache set failed: ${String(error)}`));
        // An invalidation that arrived while the store was writing: take the entry back out.
        if (flight.stale) {
          cacheStaleLoadsDiscarded.inc({ cache });
          await this.cache.del(key).catch(() => undefined);
        }
        return value;
      } finally {
        if (this.flights.get(key) === flight) this.flights.delete(key);
      }
    })();
    flight.promise = promise;
    this.flights.set(key, flight);
    return promise;
  }

  /**
   * A committed write changed `productId`: evict it here at once (so this worker reads its
   * own write), then tell every worker. Call only after the commit. Never throws and never
   * waits for Redis: a failed broadcast is logged, counted and resent when the publisher is
   * back; meanwhile the TTL bounds staleness elsewhere.
   */
  async productChanged(productId: string): Promise<void> {
    await this.evictProduct(productId, 'write');
    this.publish(productId);
  }

  /** Handler side of `product.changed` (see CatalogEventsController). */
  async onProductChanged(event: Partial<ProductChangedEvent> | undefined): Promise<void> {
    invalidationMessages.inc({ event: BroadcastEvents.PRODUCT_CHANGED });
    if (event?.scope !== this.scope) return; // another deployment on the same Redis
    if (typeof event.productId !== 'string' || !POSITIVE_ID.test(event.productId)) {
      this.logger.warn(`ignored malformed ${BroadcastEvents.PRODUCT_CHANGED}: ${JSON.stringify(event).slice(0, 200)}`);
      return;
    }
    await this.evictProduct(event.productId, 'broadcast');
  }

  /** Drops the product's detail and every list page, including loads in flight. */
  async evictProduct(productId: string, reason: EvictionReason): Promise<void> {
    this.listGeneration++;
    this.detachFlights((flight) => flight.cache === 'product_list' || flight.productId === productId);
    cacheEvictions.inc({ cache: 'product_list', reason });
    cacheEvictions.inc({ cache: 'product', reason });
    await this.cache.del(this.productKey(productId)).catch(() => undefined);
  }

  /** Drops everything this cache holds (after a transport outage, broadcasts may have been lost). */
  evictAll(reason: EvictionReason): void {
    this.epoch++;
    this.listGeneration++;
    this.detachFlights(() => true);
    cacheEvictions.inc({ cache: 'product_list', reason });
    cacheEvictions.inc({ cache: 'product', reason });
  }

  private detachFlights(covers: (flight: Flight) => boolean): void {
    for (const [key, flight] of this.flights) {
      if (!covers(flight)) continue;
      flight.stale = true;
      this.flights.delete(key);
    }
  }

  private publish(productId: string): void {
    const event: ProductChangedEvent = { productId, scope: this.scope };
    firstValueFrom(this.broadcast.emit(BroadcastEvents.PRODUCT_CHANGED, event).pipe(timeout(BROADCAST_TIMEOUT_MS)), { defaultValue: undefined }).then(
      () => this.undelivered.delete(productId),
      (error: unknown) => {
        broadcastFailures.inc({ event: BroadcastEvents.PRODUCT_CHANGED });
        if (this.undelivered.size < 10_000) this.undelivered.add(productId);
        this.logger.warn(`${BroadcastEvents.PRODUCT_CHANGED} ${productId} not broadcast (${String(error)}); other workers stay stale until it is resent or the TTL expires`);
      },
    );
  }

  private resendUndelivered(): void {
    const ids = [...this.undelivered];
    if (ids.length === 0) return;
    this.logger.log(`publisher back: resending ${ids.length} ${BroadcastEvents.PRODUCT_CHANGED}`);
    ids.forEach((productId) => this.publish(productId));
  }
}
