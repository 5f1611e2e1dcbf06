import { BullModule } from '@nestjs/bull';
import { Global, Logger, Module } from '@nestjs/common';
import Bull from 'bull';
import type { AppConfig } from '../../config/env.js';
import { APP_CONFIG } from '../common/config.module.js';
import { redisOptions } from '../redis/redis-options.js';

/**
 * Bull (4.16.5, lib/queue.js setHandler) starts `setWorkerName()` from `queue.process()` (a CLIENT
 * SETNAME on its blocking connection, for `getWorkers()`) and drops the promise. A queue closed
 * before Redis answers it (a worker stopped right after it started, or while Redis is down, as in
 * src/health/ops.e2e.ts) rejects it with "Connection is closed.": an unhandled rejection, which
 * Node turns into a crash of the worker. Its outcome is handled here, once for every queue.
 */
const bullPrototype = Bull.prototype as unknown as { setWorkerName(this: Bull.Queue): Promise<unknown> };
const setWorkerName = bullPrototype.setWorkerName;
bullPrototype.setWorkerName = function (this: Bull.Queue) {
  return setWorkerName.call(this).catch((error: Error) => {
    // Closing while it waits is expected; anything else is worth a line (the name is only a label).
    if (error.message !== 'Connection is closed.')
      new Logger('Queue').warn(`${this.name}: worker connection not named: ${error.message}`);
  });
};

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
