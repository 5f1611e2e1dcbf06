import { Global, Inject, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import type { AppConfig } from '../../config/env.js';
import { APP_CONFIG } from '../common/config.module.js';
import { ReadinessRegistry } from '../common/readiness.js';
import { redisOptions } from './redis-options.js';
import { atLeast, MIN_REDIS_VERSION, redisVersionOf } from './redis-version.js';
import { TransportState } from './transport-state.js';

/** The version of a client's server when it is below MIN_REDIS_VERSION (read at each connection). */
const redisTooOld = new WeakMap<Redis, string | undefined>();

/**
 * The application's Redis client (refresh tokens, coupon claims), injected as `Redis`.
 * Fails fast while Redis is away (one retry, 2 s command timeout) so requests get a 503
 * instead of hanging; it reconnects by itself.
 */
@Global()
@Module({
  providers: [
    {
      provide: Redis,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => {
        const client = new Redis({
          ...redisOptions(config),
          maxRetriesPerRequest: 1,
          commandTimeout: 2000,
          // Commands issued in one event-loop turn go out in one socket write: during a rush a worker
          // has dozens of claims in flight, and a write per command cost ~10% of its CPU (profiled).
          enableAutoPipelining: config.REDIS_AUTO_PIPELINING,
          connectTimeout: 3000,
          retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
        });
        const logger = new Logger('Redis');
        let lastError = '';
        client.on('error', (error: Error) => {
          if (error.message !== lastError) logger.warn(`redis: ${error.message}`);
          lastError = error.message;
        });
        client.on('ready', () => {
          if (lastError) logger.log('redis: connection restored');
          lastError = '';
          // Checked on every (re)connection: a Redis too old fails readiness with a message that
          // says so, instead of 500s on the first refresh (XADD MINID). Unreadable: not judged.
          client.info('server').then(
            (info) => {
              const version = redisVersionOf(info);
              redisTooOld.set(client, version && !atLeast(version) ? version : undefined);
              if (redisTooOld.get(client))
                logger.error(`redis: version ${version} is older than Pick's minimum ${MIN_REDIS_VERSION}`);
            },
            () => undefined,
          );
        });
        return client;
      },
    },
    TransportState,
  ],
  exports: [Redis, TransportState],
})
export class RedisModule implements OnApplicationShutdown {
  constructor(
    @Inject(Redis) private readonly redis: Redis,
    transport: TransportState,
    readiness: ReadinessRegistry,
  ) {
    readiness.register({
      name: 'redis',
      gates: true,
      probe: async () => {
        await this.redis.ping();
        const tooOld = redisTooOld.get(this.redis);
        if (tooOld) throw new Error(`Redis ${tooOld} is older than Pick's minimum ${MIN_REDIS_VERSION}`);
      },
    });
    // The broadcast transport (cache invalidation): its subscriber and publisher connections.
    readiness.register({ name: 'transport', gates: true, probe: async () => transport.assertUp() });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
