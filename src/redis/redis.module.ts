import { Global, Inject, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import type { AppConfig } from '../../config/env.js';
import { APP_CONFIG } from '../common/config.module.js';
import { TransportState } from './transport-state.js';

/** ioredis connection options shared by the app client, Bull and the broadcast transport. */
export function redisOptions(config: AppConfig) {
  return {
    host: config.REDIS_HOST,
    port: config.REDIS_PORT,
    username: config.REDIS_USERNAME || undefined,
    password: config.REDIS_PASSWORD || undefined,
    db: config.REDIS_DB,
  };
}

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
  constructor(@Inject(Redis) private readonly redis: Redis) {}

  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
