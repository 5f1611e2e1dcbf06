import { CACHE_MANAGER, type Cache } from '@nestjs/cache-manager';
import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { createHash } from 'node:crypto';
import type { AppConfig } from '../../config/env.js';
import { Broadcaster } from '../cache/broadcaster.js';
import { ReadThroughCache, type EvictionReason } from '../cache/read-through-cache.js';
import { Broadcasts } from '../common/broadcast.js';
import { APP_CONFIG } from '../common/config.module.js';
import { POSITIVE_ID } from '../common/validation.js';
import { TransportState } from '../redis/transport-state.js';
import { ProductSort } from './catalog.dto.js';
import type { ProductCategory } from './product.entity.js';

export interface ListPageKey {
  sort: ProductSort;
  category?: ProductCategory;
  lastId?: string;
  lastPrice?: number;
}

/**
 * A response body as the catalog cache keeps it: the JSON bytes, serialized once per load, and
 * their strong ETag (a hash of the bytes, so every worker of every server gives the same page the
 * same tag and a client revalidates against whichever worker it reaches).
 */
export interface CachedBody {
  readonly json: Buffer;
  readonly etag: string;
}

export function toCachedBody(value: unknown): CachedBody {
  const json = Buffer.from(JSON.stringify(value));
  return { json, etag: `"${createHash('sha1').update(json).digest('base64url')}"` };
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

  /** The product's detail as response bytes: from memory, or loaded once and serialized once. */
  product(productId: string, load: () => Promise<unknown>): Promise<CachedBody> {
    return this.entries.read('product', productId, () => load().then(toCachedBody));
  }

  listPage(page: ListPageKey, load: () => Promise<unknown>): Promise<CachedBody> {
    return this.entries.read('product_list', listPageId(page), () => load().then(toCachedBody));
  }

  /** The detail's bytes if this worker holds them (a hit, counted as one); never loads. */
  peekProduct(productId: string): Promise<CachedBody | undefined> {
    return this.entries.peek('product', productId);
  }

  /** The page's bytes if this worker holds them (a hit, counted as one); never loads. */
  peekListPage(page: ListPageKey): Promise<CachedBody | undefined> {
    return this.entries.peek('product_list', listPageId(page));
  }

  /**
   * A committed write changed `productId`: evict it here at once (so this worker reads its
   * own write), then tell every worker. Call only after the commit. Never throws and never
   * waits for Redis (the Broadcaster resends what failed; the TTL bounds staleness meanwhile).
   */
  async productChanged(productId: string): Promise<void> {
    await this.evictProduct(productId, 'write');
    void this.broadcaster.publishCommitted(Broadcasts.PRODUCT_CHANGED, { productId });
  }

  /** Handler side of `product.changed` (see CatalogBroadcastsController). */
  async onProductChanged(message: unknown): Promise<void> {
    if (!this.broadcaster.accepts(Broadcasts.PRODUCT_CHANGED, message)) return; // another deployment on the same Redis
    if (typeof message.productId !== 'string' || !POSITIVE_ID.test(message.productId)) {
      this.logger.warn(`ignored malformed ${Broadcasts.PRODUCT_CHANGED}: ${JSON.stringify(message).slice(0, 200)}`);
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

function listPageId(page: ListPageKey): string {
  return `${page.sort}:${page.category ?? '*'}:${page.lastId ?? ''}:${page.lastPrice ?? ''}`;
}
