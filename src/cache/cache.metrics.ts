import { Counter } from 'prom-client';

// Per-worker memory caches (CACHE_MANAGER). `cache` names what is cached: product, product_list, …

export const cacheHits = new Counter({
  name: 'pick_cache_hits_total',
  help: 'Reads answered from the worker memory cache',
  labelNames: ['cache'],
});

export const cacheMisses = new Counter({
  name: 'pick_cache_misses_total',
  help: 'Reads that started a load from MySQL (one per key at a time; see coalesced)',
  labelNames: ['cache'],
});

export const cacheCoalesced = new Counter({
  name: 'pick_cache_coalesced_total',
  help: 'Misses that waited for a load already in flight instead of querying MySQL',
  labelNames: ['cache'],
});

export const cacheEvictions = new Counter({
  name: 'pick_cache_evictions_total',
  help: 'Invalidations applied to the worker cache, by what caused them (write, broadcast, reconnect)',
  labelNames: ['cache', 'reason'],
});

export const cacheStaleLoadsDiscarded = new Counter({
  name: 'pick_cache_stale_loads_discarded_total',
  help: 'Loads that began before an invalidation and finished after it: served to their callers, never stored',
  labelNames: ['cache'],
});

export const invalidationMessages = new Counter({
  name: 'pick_cache_invalidation_messages_total',
  help: 'Invalidation broadcasts received over the Redis transport',
  labelNames: ['event'],
});

export const broadcastFailures = new Counter({
  name: 'pick_cache_broadcast_failures_total',
  help: 'Invalidation broadcasts that could not be published (Redis away); resent when the publisher is back',
  labelNames: ['event'],
});
