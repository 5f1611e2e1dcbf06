import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { EntityManager } from '@mikro-orm/mysql';
import { rmSync } from 'node:fs';
import type S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Product } from '../catalog/product.entity.js';
import { solidPng } from '../storage/demo-images.js';
import { startLocalS3 } from '../storage/local-s3.js';
import { createS3Client } from '../storage/storage.module.js';
import { startTestApp, type TestApp } from '../testing/app.js';
import { testPort } from '../testing/cluster.js';
import { MediaObject } from './media-object.entity.js';

const PNG = solidPng(2, 2, [250, 120, 0]);
const root = new URL('../..', import.meta.url).pathname;

/** A storage outage with its own S3 server (this file's port and data dir), stopped and restarted under a running app. */
describe('object storage outage', () => {
  const port = testPort(91);
  const bucket = 'pick-outage';
  const directory = `${root}.local/s3-outage-${process.env.PICK_TEST_DB ?? 'pick_test'}`;
  let server: S3rver | undefined;
  let t: TestApp;
  let s3: S3Client;
  let db: EntityManager;
  let seller: { accessToken: string };

  const upload = () => {
    const data = new FormData();
    data.append('files', new Blob([PNG]), 'p.png');
    return t.http.request('POST', '/api/seller/products/images', { token: seller.accessToken, raw: data });
  };
  const rows = async () => ({
    records: await db.fork().count(MediaObject, {}),
    products: await db.fork().count(Product, {}),
  });

  beforeAll(async () => {
    rmSync(directory, { recursive: true, force: true });
    server = await startLocalS3({ port, directory, bucket });
    const endpoint = `http://127.0.0.1:${port}`;
    t = await startTestApp({ S3_ENDPOINT: endpoint, S3_BUCKET: bucket, CDN_BASE_URL: `${endpoint}/${bucket}` });
    s3 = createS3Client(t.config);
    db = t.app.get(EntityManager);
    seller = await t.http.member('SELLER');
  });
  afterAll(async () => {
    await server?.close().catch(() => undefined);
    s3?.destroy();
    await t?.close();
  });

  it('stores an image larger than one upload part (5 MiB, sent as a multipart upload) byte for byte', async () => {
    const big = Buffer.concat([PNG, Buffer.alloc(6 * 1024 * 1024 + 123, 7)]);
    const data = new FormData();
    data.append('files', new Blob([big]), 'big.png');
    const started = Date.now();
    const result = await t.http.request('POST', '/api/seller/products/images', {
      token: seller.accessToken,
      raw: data,
    });
    console.log(`6 MiB upload: ${result.status} in ${Date.now() - started} ms`);
    expect(result.status, JSON.stringify(result.body)).toBe(201);
    const key = (result.body.imageUrls[0] as string).slice(`${t.config.CDN_BASE_URL}/`.length);
    const meta = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    expect(meta.ContentLength).toBe(big.length);
    const stored = await (
      await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
    ).Body!.transformToByteArray();
    expect(Buffer.from(stored).equals(big)).toBe(true);
  });

  it('answers 503 STORAGE_UNAVAILABLE when storage refuses (unknown access key, missing bucket), and stores nothing', async () => {
    const same = { S3_ENDPOINT: t.config.S3_ENDPOINT, CDN_BASE_URL: t.config.CDN_BASE_URL };
    for (const overrides of [
      { ...same, S3_BUCKET: bucket, S3_ACCESS_KEY: 'NOT-A-KEY' },
      { ...same, S3_BUCKET: 'no-such-bucket' },
    ]) {
      const refused = await startTestApp(overrides);
      try {
        const before = await rows();
        const data = new FormData();
        data.append('files', new Blob([PNG]), 'p.png');
        const result = await refused.http.request('POST', '/api/seller/products/images', {
          token: seller.accessToken,
          raw: data,
        });
        expect([result.status, result.body.code]).toEqual([503, 'STORAGE_UNAVAILABLE']);
        expect(await rows()).toEqual(before);
        expect((await refused.http.get('/health/ready')).body.checks.storage.status).toBe('down');
      } finally {
        await refused.close();
      }
    }
  });

  it('answers 503 STORAGE_UNAVAILABLE while storage is down, writes nothing, and recovers without an app restart', async () => {
    const first = await upload();
    expect(first.status).toBe(201);

    await server!.close();
    server = undefined;

    const ready = await t.http.get('/health/ready');
    expect(ready.status).toBe(200); // storage does not take the worker out of rotation...
    expect(ready.body.checks.storage.status).toBe('down'); // ...but readiness reports it
    expect(ready.body.degraded).toEqual(['storage']);

    const before = await rows();
    const started = Date.now();
    const failed = await upload();
    const failMs = Date.now() - started;
    console.log(`upload with storage down: ${failed.status} ${failed.body.code} in ${failMs} ms`);
    expect(failed.status).toBe(503);
    expect(failed.body.code).toBe('STORAGE_UNAVAILABLE');
    expect(await rows()).toEqual(before);

    // Attaching an image that is already stored needs only the database.
    const created = await t.http.post(
      '/api/seller/products',
      {
        name: 'Outage boots',
        price: 1000,
        description: '',
        stock: 1,
        category: 'SHOES',
        status: 'IN_STOCK',
        images: [{ url: first.body.imageUrls[0], type: 'MAIN' }],
      },
      seller.accessToken,
    );
    expect(created.status).toBe(201);

    server = await startLocalS3({ port, directory, bucket });
    const again = await upload();
    expect(again.status, JSON.stringify(again.body)).toBe(201);
    for (const url of [first.body.imageUrls[0], again.body.imageUrls[0]]) {
      const key = url.slice(`${t.config.CDN_BASE_URL}/`.length);
      expect((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).ContentType).toBe('image/png');
    }
    expect((await t.http.get('/health/ready')).body.checks.storage.status).toBe('up');
  });
});
