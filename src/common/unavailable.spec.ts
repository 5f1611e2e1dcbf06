import { DeadlockException, UniqueConstraintViolationException } from '@mikro-orm/core';
import { describe, expect, it } from 'vitest';
import { isServiceUnavailable } from './unavailable.js';

const errorWith = (message: string, code?: string) => Object.assign(new Error(message), code ? { code } : {});
/** What ioredis rejects with when Redis answers an error (redis-errors' ReplyError). */
const replyError = (message: string) => Object.assign(new Error(message), { name: 'ReplyError' });

describe('isServiceUnavailable', () => {
  it.each([
    ['MySQL refused', errorWith('connect ECONNREFUSED 127.0.0.1:3306', 'ECONNREFUSED')],
    [
      'MySQL dropped the connection',
      errorWith('Connection lost: The server closed the connection.', 'PROTOCOL_CONNECTION_LOST'),
    ],
    ['mysql2 on a dead connection', errorWith("Can't add new command when connection is in closed state")],
    ['MySQL full', errorWith('Too many connections', 'ER_CON_COUNT_ERROR')],
    ['pool exhausted', errorWith('Timeout acquiring a connection. The pool is probably full.')],
    ['InnoDB deadlock', new DeadlockException(errorWith('Deadlock found when trying to get lock'))],
    ['Redis away', errorWith('Connection is closed.')],
    [
      'Redis gave up',
      errorWith(
        'Reached the max retries per request limit (which is 1). Refer to "maxRetriesPerRequest" option for details.',
      ),
    ],
    ['Redis slow', errorWith('Command timed out')],
    ['DNS', errorWith('getaddrinfo ENOTFOUND db.internal', 'ENOTFOUND')],
    ['Redis primary without its replicas', replyError('NOREPLICAS Not enough good replicas to write.')],
    [
      'the same inside a script',
      replyError(
        'ERR Error running script (call to f_1): @user_script:12: @user_script: 12: -NOREPLICAS Not enough good replicas to write.',
      ),
    ],
    ['a demoted primary', replyError("READONLY You can't write against a read only replica.")],
    ['Redis loading', replyError('LOADING Redis is loading the dataset in memory')],
    [
      'a replica without its primary',
      replyError('MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to no.'),
    ],
    ['no sentinel answers', errorWith('All sentinels are unreachable. Retrying from scratch after 10ms.')],
  ])('%s: unavailable (retry)', (_name, error) => {
    expect(isServiceUnavailable(error)).toBe(true);
  });

  it.each([
    ['a bug', new TypeError("Cannot read properties of undefined (reading 'connect')")],
    ['bad data', new UniqueConstraintViolationException(errorWith("Duplicate entry '1-2' for key 'uq'"))],
    [
      'a missing row reference',
      errorWith('Cannot add or update a child row: a foreign key constraint fails', 'ER_NO_REFERENCED_ROW_2'),
    ],
    ['not an error', undefined],
    ['a string', 'ECONNREFUSED'],
    ['a bug that mentions a read-only property', new TypeError('Cannot assign to READONLY property')],
    ['another Redis error', replyError('WRONGTYPE Operation against a key holding the wrong kind of value')],
  ])('%s: not unavailable', (_name, error) => {
    expect(isServiceUnavailable(error)).toBe(false);
  });
});
