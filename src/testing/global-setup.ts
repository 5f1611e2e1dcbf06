import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { Redis } from 'ioredis';
import { startLocalS3 } from '../storage/local-s3.js';
import { openApiCountsFile } from './openapi-check.js';
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
  const redis = new Redis({
    host: env.REDIS_HOST ?? '127.0.0.1',
    port: Number(env.REDIS_PORT ?? 6379),
    db: Number(env.REDIS_DB),
    lazyConnect: true,
  });
  await redis.connect();
  await redis.flushdb();
  await redis.quit();

  const countsFile = openApiCountsFile(env);
  rmSync(countsFile, { force: true });

  const s3Dir = `${root}.local/s3-test-${env.PICK_TEST_DB ?? 'pick_test'}`;
  rmSync(s3Dir, { recursive: true, force: true });
  const { S3_ENDPOINT, S3_BUCKET } = testEnv();
  const s3 = await startLocalS3({ port: Number(new URL(S3_ENDPOINT).port), directory: s3Dir, bucket: S3_BUCKET });
  return async () => {
    await s3.close();
    reportOpenApiCounts(countsFile);
  };
}

/** How many responses the run checked against the API document, and how much of it they covered. */
function reportOpenApiCounts(file: string): void {
  if (!existsSync(file)) return;
  let validated = 0;
  const seen = new Set<string>();
  for (const line of readFileSync(file, 'utf8').split('\n').filter(Boolean)) {
    const counts = JSON.parse(line) as { validated: number; seen: string[] };
    validated += counts.validated;
    counts.seen.forEach((key) => seen.add(key));
  }
  const operations = new Set([...seen].map((key) => key.split(' ')[0]).filter((id) => id !== '-'));
  console.log(
    `openapi: ${validated} responses validated against the API document (${operations.size} operations, ${seen.size} operation/status pairs seen)`,
  );
}
