// Not 90: with the default base that is 4190, a port fetch() refuses (ManageSieve, on the "bad ports" list).
export const TEST_S3_PORT_OFFSET = 88;
export const TEST_S3_BUCKET = 'pick-test';

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
    // Throttling stays on with its production defaults, except the per-IP limits: every test member is
    // signed up and logged in from 127.0.0.1 (one "IP" for the whole run). Per-email and per-member
    // limits keep their defaults, so the suites prove honest traffic never meets them.
    THROTTLE_SIGNUP_IP_LIMIT: env.THROTTLE_SIGNUP_IP_LIMIT ?? '1000000',
    THROTTLE_LOGIN_IP_LIMIT: env.THROTTLE_LOGIN_IP_LIMIT ?? '1000000',
    THROTTLE_REFRESH_IP_LIMIT: env.THROTTLE_REFRESH_IP_LIMIT ?? '1000000',
  };
}
