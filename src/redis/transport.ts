import { Logger } from '@nestjs/common';
import { Transport, type MicroserviceOptions } from '@nestjs/microservices';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Redis } from 'ioredis';
import type { AppConfig } from '../../config/env.js';
import { redisOptions } from './redis-options.js';
import { TransportState } from './transport-state.js';

/**
 * The broadcast transport's Redis options, for both ends: the publisher (BROADCAST_CLIENT, app.module.ts)
 * and this worker's subscriber (the microservice below). Both reconnect by themselves, forever.
 */
export function transportOptions(config: AppConfig) {
  return { ...redisOptions(config), retryAttempts: Number.MAX_SAFE_INTEGER, retryDelay: 1000 };
}

/** Attaches the Redis-transport microservice (its @EventPattern handlers: the broadcasts) to the app. */
export function connectTransport(app: NestFastifyApplication, config: AppConfig): void {
  const transport = app.connectMicroservice<MicroserviceOptions>(
    { transport: Transport.REDIS, options: transportOptions(config) },
    { inheritAppConfig: true },
  );
  app.get(TransportState).watch(transport);
}

/** Whether Redis accepts a connection and answers PING right now (one try, short timeouts). */
async function redisAnswers(config: AppConfig): Promise<boolean> {
  const probe = new Redis({
    ...redisOptions(config),
    lazyConnect: true,
    connectTimeout: 1000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    sentinelRetryStrategy: () => null,
  });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

/**
 * Starts the transport. With Redis unreachable at boot, the worker still starts and serves from MySQL
 * (caches then rely on their TTL), and starts the transport once Redis answers; otherwise a Redis outage
 * would crash-loop every restarting worker until PM2 gave up on it for good.
 */
export async function startTransport(app: NestFastifyApplication, config: AppConfig): Promise<void> {
  if (await redisAnswers(config)) {
    await app.startAllMicroservices();
    return;
  }
  const logger = new Logger('Transport');
  logger.warn('Redis is unreachable: starting without the broadcast transport, retrying every second');
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onClose', (_instance, done) => {
      closed = true;
      clearTimeout(timer);
      done();
    });
  const retry = async () => {
    if (closed) return;
    if (await redisAnswers(config)) {
      if (closed) return;
      try {
        await app.startAllMicroservices();
        logger.log('broadcast transport connected');
        return;
      } catch (error) {
        logger.warn(`broadcast transport: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    if (!closed) timer = setTimeout(() => void retry(), 1000).unref();
  };
  timer = setTimeout(() => void retry(), 1000).unref();
}
