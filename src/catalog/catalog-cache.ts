import { CACHE_MANAGER, type Cache } from '@nestjs/cache-manager';
import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import type { AppConfig } from '../../config/env.js';
import { Broadcaster } from '../cache/broadcaster.js';
import { ReadThroughCache, type EvictionReason } from '../cache/read-through-cache.js';
import { BroadcastEvents } from '../common/broadcast.js';
import { APP_CONFIG } from '../common/config.module.js';
import { POSITIVE_ID } from '../common/validation.js';
import { TransportState } from '../redis/transport-state.js';
import { ProductSort } from './catalog.dto.js';

export interface ListPageKey {
  sort: ProductSort;
  category?: string;
  lastId?: string;
  lastPrice?: number;
}

/**
 * The catalog's product details and list pages in this worker's memory (ReadThroughCache:
 * single flight, stale loads never stored, all dropped when the transport reconnects), and
 * their invalidation across every worker of every server (`product.changed`). A product
 * change drops its detail and every list page (one generation bump).
 */
@Injectable()
export class CatalogCache implements OnModuleDestroy {
  private readonly logger = new Logger(CatalogCache.name);
  private readonly entries: ReadThroughCache<'product' | 'product_list'>;

  constructor(
    @Inject(CACHE_MANAGER) cache: Cache,
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly broadcaster: Broadcaster,
    transport: TransportState,
  ) {
    this.entries = new ReadThroughCache(cache, transport, {
      namespace: 'catalog',
      groups: ['product', 'product_list'],
      enabled: config.CACHE_ENABLED,
      missTtlMs: config.CACHE_MISS_TTL_MS,
    });
  }

  onModuleDestroy(): void {
    this.entries.close();
  }

  product<T>(productId: string, load: () => Promise<T>): Promise<T> {
    return this.entries.read('product', productId, load);
  }

  listPage<T>(page: ListPageKey, load: () => Promise<T>): Promise<T> {
    return this.entries.read(
      'product_list',
      `${page.sort}:${page.category ?? '*'}:${page.lastId ?? ''}:${page.lastPrice ?? ''}`,
      load,
    );
  }

  /**
   * A committed write changed `productId`: evict it here at once (so this worker reads its
   * own write), then tell every worker. Call only after the commit. Never throws and never
   * waits for Redis (the Broadcaster resends what failed; the TTL bounds staleness meanwhile).
   */
  async productChanged(productId: string): Promise<void> {
    await this.evictProduct(productId, 'write');
    void this.broadcaster.publishCommitted(BroadcastEvents.PRODUCT_CHANGED, { productId });
  }

  /** Handler side of `product.changed` (see CatalogEventsController). */
  async onProductChanged(message: unknown): Promise<void> {
    if (!this.broadcaster.accepts(BroadcastEvents.PRODUCT_CHANGED, message)) return; // another deployment on the same Redis
    if (typeof message.productId !== 'string' || !POSITIVE_ID.test(message.productId)) {
      this.logger.warn(
        `ignored malformed ${BroadcastEvents.PRODUCT_CHANGED}: ${JSON.stringify(message).slice(0, 200)}`,
      );
      return;
    }
    await this.evictProduct(message.productId, 'broadcast');
  }

  /** Drops the product's detail and every list page, including loads in flight. */
  async evictProduct(productId: string, reason: EvictionReason): Promise<void> {
    this.entries.evictGroup('product_list', reason);
    await this.entries.evict('product', productId, reason);
  }
}
