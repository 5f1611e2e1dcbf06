import { execFileSync } from 'node:child_process';
import { Redis } from 'ioredis';
import { testEnv } from './test-env.js';

const root = new URL('../..', import.meta.url).pathname;

/**
 * Once per test run: build the app (cluster tests run dist/ under PM2), recreate the
 * test database through the real migration step, and empty the test Redis db.
 */
export default async function setup(): Promise<void> {
  const env = { ...process.env, ...testEnv() };
  const node = process.execPath;
  execFileSync(node, [`${root}node_modules/@nestjs/cli/bin/nest.js`, 'build'], { cwd: root, stdio: 'inherit', env });
  execFileSync(node, ['dist/src/cli/migrate.js', 'reset'], { cwd: root, stdio: 'inherit', env });
  const redis = new Redis({ host: env.REDIS_HOST ?? '127.0.0.1', port: Number(env.REDIS_PORT ?? 6379), db: Number(env.REDIS_DB), lazyConnect: true });
  await redis.connect();
  await redis.flushdb();
  await redis.quit();
}
