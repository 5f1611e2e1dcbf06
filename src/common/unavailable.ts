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
  ].join('|'),
  'i',
);

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
  const err = error as { code?: unknown; message?: unknown } | null | undefined;
  return UNAVAILABLE.test(
    `${typeof err?.code === 'string' ? err.code : ''} ${typeof err?.message === 'string' ? err.message : ''}`,
  );
}
