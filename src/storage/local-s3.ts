/**
 * The local S3-compatible server (s3rver, from the npm registry) used by `npm run up`
 * (deploy/local/s3.sh) and by the tests: a real HTTP S3 API on loopback, data on disk.
 * Run as a script it serves S3_ENDPOINT's port with data under .local/s3, creates S3_BUCKET
 * and uploads the demo images the seed references.
 */
import 'reflect-metadata';
import { HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadConfig, type AppConfig } from '../../config/env.js';
import { DEMO_IMAGES } from './demo-images.js';
import { createS3Client } from './storage.module.js';

export interface LocalS3Options {
  port: number;
  directory: string;
  bucket: string;
  host?: string;
}

/** Starts s3rver with the bucket created; resolves once it listens. */
export async function startLocalS3(options: LocalS3Options): Promise<S3rver> {
  mkdirSync(options.directory, { recursive: true });
  const server = new S3rver({
    address: options.host ?? '127.0.0.1',
    port: options.port,
    directory: options.directory,
    silent: true,
    configureBuckets: [{ name: options.bucket }],
  });
  await server.run();
  return server;
}

/** Uploads the demo images that are missing. */
export async function uploadDemoImages(s3: S3Client, bucket: string): Promise<number> {
  let uploaded = 0;
  for (const [key, body] of Object.entries(DEMO_IMAGES)) {
    const exists = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })).then(
      () => true,
      () => false,
    );
    if (exists) continue;
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: body,
        ContentType: 'image/png',
        CacheControl: 'public, max-age=31536000, immutable',
      }),
    );
    uploaded++;
  }
  return uploaded;
}

async function main(): Promise<void> {
  const config: AppConfig = loadConfig();
  const endpoint = new URL(config.S3_ENDPOINT);
  const directory =
    process.env.LOCAL_S3_DIR ??
    fileURLToPath(
      new URL(import.meta.url.includes('/dist/') ? '../../../.local/s3' : '../../.local/s3', import.meta.url),
    );
  const server = await startLocalS3({
    host: endpoint.hostname,
    port: Number(endpoint.port || 80),
    directory,
    bucket: config.S3_BUCKET,
  });
  const s3 = createS3Client(config);
  const uploaded = await uploadDemoImages(s3, config.S3_BUCKET);
  s3.destroy();
  console.log(
    `local s3: ${config.S3_ENDPOINT} bucket "${config.S3_BUCKET}" data ${directory} (${uploaded} demo image(s) uploaded)`,
  );
  const stop = () => void server.close().finally(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((error: unknown) => {
    console.error(`local s3: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
