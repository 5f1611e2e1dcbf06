import { CacheModule } from '@nestjs/cache-manager';
import { Global, Module } from '@nestjs/common';
import { createKeyv } from 'cacheable';
import type { AppConfig } from '../../config/env.js';
import { APP_CONFIG } from '../common/config.module.js';
import { Broadcaster } from './broadcaster.js';

/**
 * The per-worker memory cache (`CACHE_MANAGER` from @nestjs/cache-manager). Bounded: an LRU of
 * CACHE_MAX_ENTRIES entries, with CACHE_TTL_MS as the staleness backstop when broadcasts fail.
 * Without `stores`, cache-manager would use an unbounded Map. Features cache through
 * `ReadThroughCache` and tell the other workers through `Broadcaster`.
 */
@Global()
@Module({
  imports: [
    CacheModule.registerAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({
        // storeHashSize 1: one Map, so no key is hashed to pick a shard on every read (cacheable's sharding
        // is for stores past 16.7 M entries; 1.5% of a worker's CPU in a claim rush's profile).
        stores: [
          createKeyv({
            ttl: config.CACHE_TTL_MS,
            lruSize: config.CACHE_MAX_ENTRIES,
            useClone: false,
            storeHashSize: 1,
          }),
        ],
        ttl: config.CACHE_TTL_MS,
      }),
    }),
  ],
  providers: [Broadcaster],
  exports: [CacheModule, Broadcaster],
})
export class AppCacheModule {}
