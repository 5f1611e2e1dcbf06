import { DeadlockException, UniqueConstraintViolationException } from '@mikro-orm/core';
import { describe, expect, it } from 'vitest';
import { isServiceUnavailable } from './unavailable.js';

const errorWith = (message: string, code?: string) => Object.assign(new Error(message), code ? { code } : {});

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
  ])('%s: not unavailable', (_name, error) => {
    expect(isServiceUnavailable(error)).toBe(false);
  });
});
