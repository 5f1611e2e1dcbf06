import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { dbLogin } from './test-env.js';

describe("the tests' MariaDB login (dbLogin)", () => {
  const file = (text: string) => {
    const path = `${mkdtempSync(`${tmpdir()}/pick-env-`)}/.env`;
    writeFileSync(path, text);
    return path;
  };

  it('reads DB_USER / DB_PASSWORD from .env, as `npm run up` writes them on a fresh machine', () => {
    const env = file('PORT=3001\nDB_USER=pick\nDB_PASSWORD=0a1b2c\n');
    expect(dbLogin({}, env)).toEqual({ DB_USER: 'pick', DB_PASSWORD: '0a1b2c' });
  });

  it('takes the last line of each, without quotes or a trailing comment', () => {
    const env = file('DB_USER=old\nDB_USER="pick"   # made by npm run up\nDB_PASSWORD=\'s3cret\'\n');
    expect(dbLogin({}, env)).toEqual({ DB_USER: 'pick', DB_PASSWORD: 's3cret' });
  });

  it('the environment wins over .env', () => {
    const env = file('DB_USER=pick\nDB_PASSWORD=from-file\n');
    expect(dbLogin({ DB_USER: 'ci', DB_PASSWORD: '' }, env)).toEqual({ DB_USER: 'ci', DB_PASSWORD: '' });
  });

  it('without either: nothing, so the app keeps its default (root, empty password)', () => {
    expect(dbLogin({}, '/nonexistent/.env')).toEqual({});
    expect(dbLogin({}, file('PORT=3000\n'))).toEqual({});
  });
});
