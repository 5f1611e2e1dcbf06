/** The environment every test process (and every app a test starts) runs with. */
export function testEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const db = env.PICK_TEST_DB ?? 'pick_test';
  return {
    NODE_ENV: 'test',
    DB_DRIVER: env.PICK_TEST_DB_DRIVER ?? 'mariadb', // CI's MySQL 8 service: PICK_TEST_DB_DRIVER=mysql
    DB_NAME: db,
    REDIS_DB: env.PICK_TEST_REDIS_DB ?? '1',
    REDIS_PREFIX: `pick-test-${db}`,
    LOG_LEVEL: env.LOG_LEVEL ?? 'warn',
    PICK_TEST_PORT_BASE: env.PICK_TEST_PORT_BASE ?? '4100',
  };
}
