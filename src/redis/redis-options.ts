import type { AppConfig } from '../../config/env.js';

export type RedisConnectionConfig = Pick<
  AppConfig,
  | 'REDIS_HOST'
  | 'REDIS_PORT'
  | 'REDIS_USERNAME'
  | 'REDIS_PASSWORD'
  | 'REDIS_DB'
  | 'REDIS_SENTINELS'
  | 'REDIS_SENTINEL_MASTER'
  | 'REDIS_SENTINEL_USERNAME'
  | 'REDIS_SENTINEL_PASSWORD'
>;

/**
 * Errors of a node that is no longer (or not yet) the primary: a demoted primary (READONLY), one still
 * loading its data (LOADING), a replica whose primary is down (MASTERDOWN). The client reconnects, which
 * in Sentinel mode asks the sentinels for the primary again; the command itself fails (a 503 to the
 * client, who may retry). Not NOREPLICAS (min-replicas-to-write): that primary is still the primary, and
 * a reconnection per refused command would only add a storm of them; after a failover the sentinels'
 * +switch-master moves the clients.
 */
const NOT_A_WRITABLE_PRIMARY = /^(READONLY|MASTERDOWN|LOADING)/;

/**
 * ioredis connection options (address or sentinels, credentials, database) of every Redis connection
 * Pick opens: the app client, Bull, the broadcast transport, the CLI commands and the benchmarks. Callers
 * add only their retry/timeout behaviour.
 *
 * With REDIS_SENTINELS, ioredis' own Sentinel support finds the primary named REDIS_SENTINEL_MASTER,
 * checks the role of what it connected to, and (failoverDetector) drops its connection as soon as a
 * sentinel announces a new primary (+switch-master), instead of waiting for a frozen one to time out.
 */
export function redisOptions(config: RedisConnectionConfig) {
  const common = {
    // Empty means none: an ACL user (provisioning) or the default user without a password.
    username: config.REDIS_USERNAME || undefined,
    password: config.REDIS_PASSWORD || undefined,
    db: config.REDIS_DB,
    reconnectOnError: (error: Error) => NOT_A_WRITABLE_PRIMARY.test(error.message),
  };
  if (config.REDIS_SENTINELS.length === 0) return { ...common, host: config.REDIS_HOST, port: config.REDIS_PORT };
  return {
    ...common,
    sentinels: sentinelAddresses(config),
    name: config.REDIS_SENTINEL_MASTER,
    sentinelUsername: config.REDIS_SENTINEL_USERNAME || undefined,
    sentinelPassword: config.REDIS_SENTINEL_PASSWORD || undefined,
    failoverDetector: true,
    // A sentinel that does not answer within this is skipped for the next one.
    sentinelCommandTimeout: 1_000,
  };
}

/** REDIS_SENTINELS as host and port ("[::1]:26379" -> ::1, 26379). */
export function sentinelAddresses(config: Pick<AppConfig, 'REDIS_SENTINELS'>): { host: string; port: number }[] {
  return config.REDIS_SENTINELS.map((address) => {
    const at = address.lastIndexOf(':');
    return { host: address.slice(0, at).replace(/^\[(.*)\]$/, '$1'), port: Number(address.slice(at + 1)) };
  });
}
