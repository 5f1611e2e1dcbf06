import { Global, Inject, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import type { AppConfig } from '../../config/env.js';
import { APP_CONFIG } from '../common/config.module.js';
import { ReadinessRegistry } from '../common/readiness.js';
import { redisOptions } from './redis-options.js';
import { TransportState } from './transport-state.js';

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
    readiness.register({ name: 'redis', gates: true, probe: () => this.redis.ping() });
    // The broadcast transport (cache invalidation): its subscriber and publisher connections.
    readiness.register({ name: 'transport', gates: true, probe: async () => transport.assertUp() });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
