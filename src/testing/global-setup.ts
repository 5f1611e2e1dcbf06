import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { Redis } from 'ioredis';
import { startLocalS3 } from '../storage/local-s3.js';
import { testEnv } from './test-env.js';

const root = new URL('../..', import.meta.url).pathname;

/**
 * Once per test run: build the app (cluster tests run dist/ under PM2), recreate the
 * test database through the real migration step, empty the test Redis db, and start the run's
 * S3 server (s3rver on loopback, empty bucket, stopped on teardown).
 */
export default async function setup(): Promise<() => Promise<void>> {
  const env = { ...process.env, ...testEnv() };
  const node = process.execPath;
  execFileSync(node, [`${root}node_modules/@nestjs/cli/bin/nest.js`, 'build'], { cwd: root, stdio: 'inherit', env });
  execFileSync(node, ['dist/src/cli/migrate.js', 'reset'], { cwd: root, stdio: 'inherit', env });
  const redis = new Redis({ host: env.REDIS_HOST ?? '127.0.0.1', port: Number(env.REDIS_PORT ?? 6379), db: Number(env.REDIS_DB), lazyConnect: true });
  await redis.connect();
  await redis.flushdb();
  await redis.quit();

  const s3Dir = `${root}.local/s3-test-${env.PICK_TEST_DB ?? 'pick_test'}`;
  rmSync(s3Dir, { recursive: true, force: true });
  const { S3_ENDPOINT, S3_BUCKET } = testEnv();
  const s3 = await startLocalS3({ port: Number(new URL(S3_ENDPOINT).port), directory: s3Dir, bucket: S3_BUCKET });
  return async () => {
    await s3.close();
  };
}
