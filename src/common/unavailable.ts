import { ConnectionException, DeadlockException, LockWaitTimeoutException } from '@mikro-orm/core';

// Messages and codes of MySQL (mysql2), Redis (ioredis), sockets and pools when the service is
// away, overloaded or briefly contended: the same request may succeed if tried again later.
const UNAVAILABLE = new RegExp(
  [
    'ECONNREFUSED',
    'ETIMEDOUT',
    'ECONNRESET',
    'EPIPE',
    'getaddrinfo', // sockets, DNS
    'PROTOCOL_CONNECTION_LOST',
    'Connection lost',
    'closed state',
    'ER_CON_COUNT_ERROR',
    'Too many connections', // mysql2
    'Pool is closed',
    'Timeout acquiring', // pools
    'Lock wait timeout',
    'Deadlock', // InnoDB contention
    'Connection is closed',
    'MaxRetriesPerRequest',
    "Stream isn't writeable",
    'Command timed out', // ioredis
    'All sentinels are unreachable', // ioredis in Sentinel mode
  ].join('|'),
  'i',
);

/**
 * Redis refusing a command for now (ioredis' ReplyError; inside a script the code follows the script's
 * location): a primary without enough replicas (min-replicas-to-write), a demoted primary or a replica,
 * a server loading its data or running a long script, a replica without its primary. Upper case only: the
 * codes as Redis sends them.
 */
const REDIS_REFUSED = /\b(NOREPLICAS|READONLY|LOADING|BUSY|MASTERDOWN|TRYAGAIN)\b/;

/**
 * The one classification of "a backing service is unavailable" (a retry may succeed), as opposed to
 * a bug or bad data. The HTTP filter answers these with 503; the coupon processor retries its whole
 * batch on them instead of splitting it row by row.
 */
export function isServiceUnavailable(error: unknown): boolean {
  if (
    error instanceof ConnectionException ||
    error instanceof DeadlockException ||
    error instanceof LockWaitTimeoutException
  )
    return true;
  const err = error as { code?: unknown; message?: unknown; name?: unknown } | null | undefined;
  if (err?.name === 'ReplyError' && typeof err.message === 'string' && REDIS_REFUSED.test(err.message)) return true;
  return UNAVAILABLE.test(
    `${typeof err?.code === 'string' ? err.code : ''} ${typeof err?.message === 'string' ? err.message : ''}`,
  );
}
