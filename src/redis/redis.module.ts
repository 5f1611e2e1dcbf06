import { Global, Inject, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import type { AppConfig } from '../../config/env.js';
import { APP_CONFIG } from '../common/config.module.js';
import { ReadinessRegistry } from '../common/readiness.js';
import { FailoverFence } from './failover-fence.js';
import { redisOptions } from './redis-options.js';
import { RedisServer } from './redis-server.js';
import { ReplicaAcks } from './replica-acks.js';
import { TransportState } from './transport-state.js';

/**
 * The application's Redis client (refresh tokens, coupon claims), injected as `Redis`.
 * Fails fast while Redis is away (one retry, 2 s command timeout) so requests get a 503
 * instead of hanging; it reconnects by itself. `RedisServer` reads the server's facts (version,
 * run id, persistence) at each of its connections.
 */
@Global()
@Module({
  providers: [
    RedisServer,
    {
      provide: Redis,
      inject: [APP_CONFIG, RedisServer],
      useFactory: (config: AppConfig, server: RedisServer) => {
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
        });
        // Checked on every (re)connection: a Redis too old fails readiness with a message that says so,
        // instead of 500s on the first refresh (XADD MINID); a new run id starts a reconciliation.
        server.observe(client);
        return client;
      },
    },
    FailoverFence,
    ReplicaAcks,
    TransportState,
  ],
  exports: [Redis, RedisServer, FailoverFence, ReplicaAcks, TransportState],
})
export class RedisModule implements OnApplicationShutdown {
  constructor(
    @Inject(Redis) private readonly redis: Redis,
    server: RedisServer,
    acks: ReplicaAcks,
    transport: TransportState,
    readiness: ReadinessRegistry,
  ) {
    readiness.register({
      name: 'redis',
      gates: true,
      probe: async () => {
        await Promise.all([this.redis.ping(), acks.ping()]);
        const unusable = server.unusable();
        if (unusable) throw new Error(unusable);
        return server.describe();
      },
    });
    // The broadcast transport (cache invalidation): its subscriber and publisher connections.
    readiness.register({ name: 'transport', gates: true, probe: async () => transport.assertUp() });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
