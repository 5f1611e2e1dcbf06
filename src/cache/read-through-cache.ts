import type { Cache } from '@nestjs/cache-manager';
import { Logger } from '@nestjs/common';
import type { Subscription } from 'rxjs';
import type { TransportState } from '../redis/transport-state.js';
import { cacheCoalesced, cacheEvictions, cacheHits, cacheMisses, cacheStaleLoadsDiscarded } from './cache.metrics.js';

export type EvictionReason = 'write' | 'broadcast' | 'reconnect';

/** What the store holds for "nothing found" (no cached value is a string). */
const MISS = '\u0000miss';

/** A load from MySQL in progress; `stale` is set when an invalidation overtakes it. */
interface Flight {
  group: string;
  id: string;
  stale: boolean;
  promise: Promise<unknown>;
}

/**
 * A read-through cache in this worker's CACHE_MANAGER (LRU + TTL) for one feature. Entries sit
 * in groups (`product`, `product_list`, `event`: also the metric label) under an id.
 *
 * - One load per key at a time: concurrent misses share the in-flight promise.
 * - Stale re-insert guard: an invalidation marks the loads in flight for what it covers as
 *   stale and detaches them, so a load that read MySQL before a write and finishes after the
 *   eviction is returned to its own callers but never stored, and later readers start a
 *   fresh load instead of joining it.
 * - Keys carry an epoch, bumped by `evictAll` (also when the broadcast subscriber reconnects:
 *   invalidations sent meanwhile were lost), and a generation per group, bumped by
 *   `evictGroup`; the LRU reclaims the unreachable entries.
 * - A broken store is a miss, never an error.
 * - "Nothing found" (null) is stored for `missTtlMs` only (0: never), so a scan of unknown ids
 *   does not reach MySQL on every request; a write that creates the id evicts it like any change.
 * - `enabled: false` runs the same path with the store bypassed (benchmark baseline).
 */
export class ReadThroughCache<Group extends string> {
  private readonly logger: Logger;
  private readonly flights = new Map<string, Flight>();
  private readonly generations = new Map<Group, number>();
  private readonly subscription: Subscription;
  private epoch = 0;

  constructor(
    private readonly store: Cache,
    transport: TransportState,
    private readonly options: { namespace: string; groups: readonly Group[]; enabled: boolean; missTtlMs: number },
  ) {
    this.logger = new Logger(`ReadThroughCache:${options.namespace}`);
    this.subscription = transport.resubscribed.subscribe(() => this.evictAll('reconnect'));
  }

  /** Stops following the transport (the owner's onModuleDestroy). */
  close(): void {
    this.subscription.unsubscribe();
  }

  key(group: Group, id: string): string {
    return `${this.options.namespace}:${this.epoch}:${group}:${this.generations.get(group) ?? 0}:${id}`;
  }

  async read<T>(group: Group, id: string, load: () => Promise<T>): Promise<T> {
    if (!this.options.enabled) return load();
    const key = this.key(group, id);
    const joined = this.join<T>(group, key);
    if (joined) return joined;
    const cached = await this.store.get<T | typeof MISS>(key).catch(() => undefined);
    if (cached !== undefined && cached !== null) {
      cacheHits.inc({ cache: group });
      return (cached === MISS ? null : cached) as T;
    }
    return this.join<T>(group, key) ?? this.startLoad(group, id, key, load);
  }

  /**
   * The stored value of a key, or undefined: absent, remembered as "nothing found", or the cache
   * off. Never loads. A value found counts as a hit, like `read`. For a fast path that answers hits
   * itself and leaves everything else (misses, errors) to `read`.
   */
  async peek<T>(group: Group, id: string): Promise<T | undefined> {
    if (!this.options.enabled) return undefined;
    const cached = await this.store.get<T | typeof MISS>(this.key(group, id)).catch(() => undefined);
    if (cached === undefined || cached === null || cached === MISS) return undefined;
    cacheHits.inc({ cache: group });
    return cached as T;
  }

  /** Drops one entry here, including a load of it in flight. */
  async evict(group: Group, id: string, reason: EvictionReason): Promise<void> {
    this.detachFlights((flight) => flight.group === group && flight.id === id);
    cacheEvictions.inc({ cache: group, reason });
    await this.store.del(this.key(group, id)).catch(() => undefined);
  }

  /** Drops every entry of `group` here (one increment), including loads in flight. */
  evictGroup(group: Group, reason: EvictionReason): void {
    this.generations.set(group, (this.generations.get(group) ?? 0) + 1);
    this.detachFlights((flight) => flight.group === group);
    cacheEvictions.inc({ cache: group, reason });
  }

  /** Drops everything this cache holds (after a transport outage, broadcasts may have been lost). */
  evictAll(reason: EvictionReason): void {
    this.epoch++;
    this.detachFlights(() => true);
    for (const group of this.options.groups) cacheEvictions.inc({ cache: group, reason });
  }

  private join<T>(group: Group, key: string): Promise<T> | undefined {
    const flight = this.flights.get(key);
    if (!flight) return undefined;
    cacheCoalesced.inc({ cache: group });
    return flight.promise as Promise<T>;
  }

  private startLoad<T>(group: Group, id: string, key: string, load: () => Promise<T>): Promise<T> {
    cacheMisses.inc({ cache: group });
    const flight: Flight = { group, id, stale: false, promise: Promise.resolve() };
    const promise = (async () => {
      try {
        const value = await load();
        if (flight.stale) {
          cacheStaleLoadsDiscarded.inc({ cache: group });
          return value;
        }
        const found = value !== null && value !== undefined;
        if (!found && this.options.missTtlMs <= 0) return value;
        await (found ? this.store.set(key, value) : this.store.set(key, MISS, this.options.missTtlMs)).catch(
          (error: unknown) => this.logger.warn(`cache set failed: ${String(error)}`),
        );
        // An invalidation that arrived while the store was writing: take the entry back out.
        if (flight.stale) {
          cacheStaleLoadsDiscarded.inc({ cache: group });
          await this.store.del(key).catch(() => undefined);
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

  private detachFlights(covers: (flight: Flight) => boolean): void {
    for (const [key, flight] of this.flights) {
      if (!covers(flight)) continue;
      flight.stale = true;
      this.flights.delete(key);
    }
  }
}
