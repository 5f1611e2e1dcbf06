import { BullModule } from '@nestjs/bull';
import { Global, Module } from '@nestjs/common';
import type { AppConfig } from '../../config/env.js';
import { APP_CONFIG } from '../common/config.module.js';
import { redisOptions } from '../redis/redis-options.js';

/**
 * Bull's shared connection settings. Queues are registered by the features that own them
 * (`BullModule.registerQueue`); processors run in-process unless QUEUE_PROCESSORS_ENABLED=false.
 */
@Global()
@Module({
  imports: [
    BullModule.forRootAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({
        redis: { ...redisOptions(config), maxRetriesPerRequest: null, enableReadyCheck: false },
        prefix: `${config.REDIS_PREFIX}:bull`,
      }),
    }),
  ],
  exports: [BullModule],
})
export class QueueModule {}
