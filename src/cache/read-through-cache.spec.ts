import type { Cache } from '@nestjs/cache-manager';
import { createCache } from 'cache-manager';
import { createKeyv } from 'cacheable';
import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { TransportState } from '../redis/transport-state.js';
import { ReadThroughCache } from './read-through-cache.js';

/** The cache's own rules, on a real in-memory cache-manager store (the app's kind), without an app. */
function setup(missTtlMs = 200) {
  const resubscribed = new Subject<void>();
  const store = createCache({ stores: [createKeyv({ ttl: 60_000, lruSize: 100 })] }) as unknown as Cache;
  const cache = new ReadThroughCache(store, { resubscribed } as unknown as TransportState, {
    namespace: 't',
    groups: ['item', 'page'],
    enabled: true,
    missTtlMs,
  });
  let loads = 0;
  const loader = (value: string) => async () => {
    loads++;
    return value;
  };
  return { cache, resubscribed, loader, loads: () => loads };
}

function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe('ReadThroughCache', () => {
  it('loads once per key: concurrent misses share the load, later reads hit', async () => {
    const { cache, loader, loads } = setup();
    const results = await Promise.all(Array.from({ length: 5 }, () => cache.read('item', '1', loader('a'))));
    expect(results).toEqual(['a', 'a', 'a', 'a', 'a']);
    expect(await cache.read('item', '1', loader('b'))).toBe('a');
    expect(loads()).toBe(1);
  });

  it('a load in flight when its entry is evicted is returned to its callers but never stored, and not joined', async () => {
    const { cache } = setup();
    const slow = deferred<string>();
    const started = deferred<void>();
    const first = cache.read('item', '1', () => (started.resolve(), slow.promise));
    await started.promise;
    await cache.evict('item', '1', 'broadcast');
    // A reader after the eviction starts its own load instead of joining the old one.
    expect(await cache.read('item', '1', async () => 'new')).toBe('new');
    slow.resolve('old');
    expect(await first).toBe('old');
    expect(await cache.read('item', '1', async () => 'reloaded')).toBe('new');
  });

  it('evicting one entry leaves the others; evicting a group drops all of it', async () => {
    const { cache } = setup();
    await cache.read('item', '1', async () => 'i1');
    await cache.read('item', '2', async () => 'i2');
    await cache.read('page', 'p', async () => 'p1');
    await cache.evict('item', '1', 'write');
    expect(await cache.read('item', '1', async () => 'i1b')).toBe('i1b');
    expect(await cache.read('item', '2', async () => 'x')).toBe('i2');
    cache.evictGroup('page', 'write');
    expect(await cache.read('page', 'p', async () => 'p2')).toBe('p2');
    expect(await cache.read('item', '2', async () => 'x')).toBe('i2');
  });

  it('drops everything, loads in flight included, when the broadcast subscriber reconnects', async () => {
    const { cache, resubscribed } = setup();
    await cache.read('item', '1', async () => 'before');
    const slow = deferred<string>();
    const started = deferred<void>();
    const inFlight = cache.read('page', 'p', () => (started.resolve(), slow.promise));
    await started.promise;
    resubscribed.next();
    slow.resolve('stale page');
    expect(await inFlight).toBe('stale page');
    expect(await cache.read('item', '1', async () => 'after')).toBe('after');
    expect(await cache.read('page', 'p', async () => 'fresh page')).toBe('fresh page');
  });

  it('with missTtlMs 0, does not store "nothing found" (null)', async () => {
    const { cache } = setup(0);
    expect(await cache.read<string | null>('item', '9', async () => null)).toBeNull();
    expect(await cache.read<string | null>('item', '9', async () => 'created')).toBe('created');
  });

  it('remembers "nothing found" for missTtlMs only, and an eviction drops it at once', async () => {
    const { cache } = setup();
    let loads = 0;
    const missing = async () => {
      loads++;
      return null;
    };
    expect(await cache.read('item', '9', missing)).toBeNull();
    expect(await cache.read('item', '9', missing)).toBeNull();
    expect(loads).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(await cache.read('item', '9', missing)).toBeNull();
    expect(loads).toBe(2);
    // The id is created: the write's eviction drops the remembered miss, the next read finds it.
    await cache.evict('item', '9', 'write');
    expect(await cache.read('item', '9', async () => 'created')).toBe('created');
  });
});
