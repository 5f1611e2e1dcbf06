import type { AppConfig } from '../../config/env.js';

/**
 * ioredis connection options (address, credentials, database) of every Redis connection Pick opens:
 * the app client, Bull, the broadcast transport, the CLI commands and the benchmarks. Callers add
 * only their retry/timeout behaviour.
 */
export function redisOptions(
  config: Pick<AppConfig, 'REDIS_HOST' | 'REDIS_PORT' | 'REDIS_USERNAME' | 'REDIS_PASSWORD' | 'REDIS_DB'>,
) {
  return {
    host: config.REDIS_HOST,
    port: config.REDIS_PORT,
    // Empty means none: an ACL user (provisioning) or the default user without a password.
    username: config.REDIS_USERNAME || undefined,
    password: config.REDIS_PASSWORD || undefined,
    db: config.REDIS_DB,
  };
}
