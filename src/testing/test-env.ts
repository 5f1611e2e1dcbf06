import { existsSync, readFileSync } from 'node:fs';
import { LIMIT_NAMES, LIMITS, limitSettingNames } from '../throttle/limits.js';

// Not 90: with the default base that is 4190, a port fetch() refuses (ManageSieve, on the "bad ports" list).
export const TEST_S3_PORT_OFFSET = 88;
export const TEST_S3_BUCKET = 'pick-test';

const envFile = new URL('../../.env', import.meta.url).pathname;

/**
 * The MariaDB login of the tests, as deploy/local/db-login.sh finds it for `npm run up`: DB_USER /
 * DB_PASSWORD from the environment, else from .env (on a fresh Debian/Ubuntu, where root logs in
 * only over the unix socket, `npm run up` creates a user and keeps it there), else none (the app's
 * default: root with an empty password).
 */
export function dbLogin(env: NodeJS.ProcessEnv = process.env, file = envFile): Record<string, string> {
  const fromFile: Record<string, string> = {};
  if (existsSync(file)) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const match = /^\s*(DB_USER|DB_PASSWORD)=(.*)$/.exec(line);
      if (match)
        fromFile[match[1]] = match[2]
          .replace(/\s#.*$/, '')
          .trim()
          .replace(/^(["'])(.*)\1$/, '$2');
    }
  }
  const login: Record<string, string> = {};
  const user = env.DB_USER || fromFile.DB_USER;
  const password = env.DB_PASSWORD ?? fromFile.DB_PASSWORD;
  if (user) login.DB_USER = user;
  if (password !== undefined) login.DB_PASSWORD = password;
  return login;
}

/** The environment every test process (and every app a test starts) runs with. */
export function testEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const db = env.PICK_TEST_DB ?? 'pick_test';
  // The run's S3 server (s3rver, started by global-setup.ts) listens on PICK_TEST_PORT_BASE + 88.
  const s3Endpoint = `http://127.0.0.1:${Number(env.PICK_TEST_PORT_BASE ?? 4100) + TEST_S3_PORT_OFFSET}`;
  return {
    S3_ENDPOINT: s3Endpoint,
    S3_BUCKET: TEST_S3_BUCKET,
    CDN_BASE_URL: `${s3Endpoint}/${TEST_S3_BUCKET}`,
    NODE_ENV: 'test',
    DB_DRIVER: env.PICK_TEST_DB_DRIVER ?? 'mariadb', // CI's MySQL 8 service: PICK_TEST_DB_DRIVER=mysql
    DB_NAME: db,
    ...dbLogin(env),
    REDIS_DB: env.PICK_TEST_REDIS_DB ?? '1',
    REDIS_PREFIX: `pick-test-${db}`,
    LOG_LEVEL: env.LOG_LEVEL ?? 'warn',
    PICK_TEST_PORT_BASE: env.PICK_TEST_PORT_BASE ?? '4100',
    // The hashing guard's production queue (16, 2 s) would refuse bursts that tests send on purpose to
    // race other things (20 signups with one email); its own tests set the tight values they test.
    PASSWORD_HASH_QUEUE: env.PASSWORD_HASH_QUEUE ?? '200',
    PASSWORD_HASH_MAX_WAIT_MS: env.PASSWORD_HASH_MAX_WAIT_MS ?? '60000',
    // Every worker's metrics listener (OPS_PORT + instance) is off in tests unless a test turns it on
    // on its own ports: apps in the test process and parallel checkouts would all want 9464.
    OPS_PORT: '0',
    // Throttling stays on with its production defaults, except the per-IP limits (every one the limits
    // table keys on the client IP): every test member is signed up and logged in from 127.0.0.1 (one
    // "IP" for the whole run). Per-email and per-member limits keep their defaults, so the suites prove
    // honest traffic never meets them.
    ...Object.fromEntries(
      LIMIT_NAMES.filter((name) => LIMITS[name].key === 'ip').map((name) => {
        const setting = limitSettingNames(name).limit;
        return [setting, env[setting] ?? '1000000'];
      }),
    ),
  };
}
