import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { EntityManager } from '@mikro-orm/mysql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { solidPng } from '../storage/demo-images.js';
import { createS3Client } from '../storage/storage.module.js';
import { startTestApp, type TestApp } from '../testing/app.js';
import { until } from '../testing/poll.js';
import { MediaCleanupProcessor } from './media-cleanup.processor.js';
import { MediaObject, MediaObjectState } from './media-object.entity.js';

// Tiny valid images, bytes written here (JPEG from cjpeg, WebP lossless from cwebp; both decode).
const JPEG = Buffer.from(
  '/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDABALDA4MChAODQ4SERATGCgaGBYWGDEjJR0oOjM9PDkzODdASFxOQERXRTc4UG1RV19iZ2hnPk1xeXBkeFxlZ2P/2wBDARESEhgVGC8aGi9jQjhCY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2P/wAARCAACAAIDASIAAhEBAxEB/8QAFQABAQAAAAAAAAAAAAAAAAAAAAb/xAAaEAACAwEBAAAAAAAAAAAAAAABAgADBAUS/8QAFAEBAAAAAAAAAAAAAAAAAAAABf/EABkRAAIDAQAAAAAAAAAAAAAAAAABAgADMf/aAAwDAQACEQMRAD8ArOLlzvxMDPRUzNmrJJQEk+RERDp6YTZt9P/Z',
  'base64',
);
const WEBP = Buffer.from('UklGRiwAAABXRUJQVlA4TB8AAAAvAUAAAB8gEEjeHzqN+RcQFPwf3fxHZA/gBgwR/Q8BAA==', 'base64');
const PNG = solidPng(3, 2, [10, 200, 30]);

const THUMB = 'type=f&w=320&h=320&quality=80';
const DETAIL = 'type=w&w=1280&quality=85';
const MAX_BYTES = 64 * 1024;

interface Part {
  name: string;
  bytes: Uint8Array;
  type?: string;
  field?: string;
}

function form(parts: Part[]): FormData {
  const data = new FormData();
  for (const part of parts)
    data.append(
      part.field ?? 'files',
      new Blob([part.bytes], { type: part.type ?? 'application/octet-stream' }),
      part.name,
    );
  return data;
}

describe('product images on object storage', () => {
  let t: TestApp;
  let s3: S3Client;
  let db: EntityManager;
  let seller: { id: string; accessToken: string };

  const upload = (parts: Part[], token = seller.accessToken) =>
    t.http.request('POST', '/api/seller/products/images', { token, raw: form(parts) });
  const keyOf = (url: string) => url.slice(`${t.config.CDN_BASE_URL}/`.length).split('?')[0];
  const storedKeys = async () => {
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: t.config.S3_BUCKET, Prefix: 'product/' }));
    return (listed.Contents ?? []).map((object) => object.Key!).sort();
  };
  const head = (key: string) => s3.send(new HeadObjectCommand({ Bucket: t.config.S3_BUCKET, Key: key }));
  const exists = (key: string) =>
    head(key).then(
      () => true,
      (error: { name?: string }) => (error.name === 'NotFound' ? false : Promise.reject(error)),
    );
  const records = () => db.fork().count(MediaObject, {});
  async function waitGone(keys: string[], timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!(await Promise.all(keys.map(exists))).some(Boolean)) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`still in storage after ${timeoutMs} ms: ${keys.join(', ')}`);
  }
  const product = (images: { url: string; type: 'MAIN' | 'DETAIL' }[]) => ({
    name: 'Linen shirt',
    price: 39_000,
    description: 'with pictures',
    stock: 5,
    category: 'TOP',
    status: 'IN_STOCK',
    images,
  });

  beforeAll(async () => {
    t = await startTestApp({
      IMAGE_THUMBNAIL_QUERY: THUMB,
      IMAGE_DETAIL_QUERY: DETAIL,
      UPLOAD_MAX_BYTES: String(MAX_BYTES),
      UPLOAD_MAX_FILES: '3',
    });
    s3 = createS3Client(t.config);
    db = t.app.get(EntityManager);
    seller = await t.http.member('SELLER');
  });
  afterAll(async () => {
    s3?.destroy();
    await t?.close();
  });

  it('uploads JPEG, PNG and WebP by content, serves them through CDN/optimizer URLs, and deletes them once no product uses them', async () => {
    // Names and part Content-Types lie on purpose: only the bytes decide.
    const uploaded = await upload([
      { name: 'a.png', bytes: JPEG, type: 'text/plain' },
      { name: 'b.gif', bytes: PNG, type: 'image/gif' },
      { name: 'c', bytes: WEBP },
    ]);
    expect(uploaded.status, JSON.stringify(uploaded.body)).toBe(201);
    const urls: string[] = uploaded.body.imageUrls;
    expect(urls).toHaveLength(3);
    const [jpgKey, pngKey, webpKey] = urls.map(keyOf);
    expect(jpgKey).toMatch(/^product\/[0-9a-f-]{36}\.jpg$/);
    expect(pngKey).toMatch(/^product\/[0-9a-f-]{36}\.png$/);
    expect(webpKey).toMatch(/^product\/[0-9a-f-]{36}\.webp$/);
    expect(urls.every((url) => url.startsWith(`${t.config.CDN_BASE_URL}/product/`))).toBe(true);

    for (const [key, contentType, bytes] of [
      [jpgKey, 'image/jpeg', JPEG],
      [pngKey, 'image/png', PNG],
      [webpKey, 'image/webp', WEBP],
    ] as const) {
      const meta = await head(key);
      expect(meta.ContentType).toBe(contentType);
      expect(meta.ContentLength).toBe(bytes.length);
      expect(meta.CacheControl).toMatch(/max-age=31536000.*immutable/);
      const body = await (
        await s3.send(new GetObjectCommand({ Bucket: t.config.S3_BUCKET, Key: key }))
      ).Body!.transformToByteArray();
      expect(Buffer.from(body).equals(bytes)).toBe(true);
    }

    // Attach: MAIN + two DETAIL, in this order.
    const created = await t.http.post(
      '/api/seller/products',
      product([
        { url: urls[1], type: 'MAIN' },
        { url: urls[0], type: 'DETAIL' },
        { url: urls[2], type: 'DETAIL' },
      ]),
      seller.accessToken,
    );
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const base = t.config.CDN_BASE_URL;
    const expectedDetail = [
      { url: `${base}/${pngKey}?${DETAIL}`, type: 'MAIN' },
      { url: `${base}/${jpgKey}?${DETAIL}`, type: 'DETAIL' },
      { url: `${base}/${webpKey}?${DETAIL}`, type: 'DETAIL' },
    ];
    expect(created.body.images).toEqual(expectedDetail);

    const detail = await t.http.get(`/api/general/products/${created.body.id}`);
    expect(detail.body.images).toEqual(expectedDetail);
    expect(detail.body.imageUrl).toBe(`${base}/${pngKey}?${DETAIL}`);
    const list = await t.http.get('/api/general/products?sort=NEW');
    const listed = list.body.items.find((item: { id: string }) => item.id === created.body.id);
    expect(listed.imageUrl).toBe(`${base}/${pngKey}?${THUMB}`);
    // The URL really serves the image (the local "CDN" is the S3 server itself).
    const served = await fetch(listed.imageUrl);
    expect(served.status).toBe(200);
    expect(Buffer.from(await served.arrayBuffer()).equals(PNG)).toBe(true);

    // A second product shares the PNG: deleting the first must not delete it.
    const other = await t.http.post(
      '/api/seller/products',
      product([{ url: detail.body.images[0].url, type: 'MAIN' }]),
      seller.accessToken,
    );
    expect(other.status, JSON.stringify(other.body)).toBe(201);

    // Replace the images (keep only the PNG): the JPEG and WebP go, the PNG stays.
    const replaced = await t.http.patch(
      `/api/seller/products/${created.body.id}`,
      { images: [{ url: detail.body.images[0].url, type: 'MAIN' }] },
      seller.accessToken,
    );
    expect(replaced.status, JSON.stringify(replaced.body)).toBe(200);
    await waitGone([jpgKey, webpKey]);
    expect(await exists(pngKey)).toBe(true);

    expect((await t.http.delete(`/api/seller/products/${created.body.id}`, seller.accessToken)).status).toBe(204);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await exists(pngKey)).toBe(true); // still used by the other product
    expect((await t.http.get(`/api/general/products/${other.body.id}`)).body.imageUrl).toBe(
      `${base}/${pngKey}?${DETAIL}`,
    );

    expect((await t.http.delete(`/api/seller/products/${other.body.id}`, seller.accessToken)).status).toBe(204);
    await waitGone([pngKey]);
    // The cleanup deletes the object, then its record (a crash in between leaves a DELETING record a
    // retry finishes): wait for the record too.
    const left = await until(
      'media records gone',
      () => db.fork().count(MediaObject, { objectKey: { $in: [jpgKey, pngKey, webpKey] } }),
      (n) => n === 0,
      5_000,
    );
    expect(left).toBe(0);
    // A deleted image can never be attached again.
    const reattach = await t.http.post(
      '/api/seller/products',
      product([{ url: urls[1], type: 'MAIN' }]),
      seller.accessToken,
    );
    expect(reattach.status).toBe(400);
    expect(reattach.body.code).toBe('IMAGE_NOT_FOUND');
  });

  it('never leaves a product pointing at a deleted object when attach and cleanup race on the same keys', async () => {
    const keys: string[] = [];
    for (let i = 0; i < 4; i++) {
      const result = await upload([PNG, JPEG, WEBP].map((bytes, n) => ({ name: `${i}-${n}`, bytes })));
      expect(result.status).toBe(201);
      keys.push(...(result.body.imageUrls as string[]).map(keyOf));
    }
    const cleanup = t.app.get(MediaCleanupProcessor);
    // For every key at once: a product attaching it, and the cleanup job deciding about it.
    const outcomes = await Promise.all(
      keys.map(async (key, i) => {
        // Staggered so both orders happen: the job is started 0-55 ms after the attach request.
        const [attach, release] = await Promise.all([
          t.http.post(
            '/api/seller/products',
            product([{ url: `${t.config.CDN_BASE_URL}/${key}`, type: 'MAIN' }]),
            seller.accessToken,
          ),
          new Promise((resolve) => setTimeout(resolve, (i % 12) * 5)).then(() => cleanup.release([key])),
        ]);
        return { key, attach: attach.status === 201 ? 'attached' : attach.body.code, release: release[key] };
      }),
    );
    const tally = outcomes.reduce<Record<string, number>>(
      (acc, o) => ({ ...acc, [`${o.attach}/${o.release}`]: (acc[`${o.attach}/${o.release}`] ?? 0) + 1 }),
      {},
    );
    console.log(`attach vs cleanup on ${keys.length} keys: ${JSON.stringify(tally)}`);
    for (const outcome of outcomes) {
      const stored = await exists(outcome.key);
      const record = await db.fork().findOne(MediaObject, { objectKey: outcome.key });
      if (outcome.attach === 'attached') {
        // the product won: the job must have kept the object
        expect({ ...outcome, stored, state: record?.state }).toEqual({
          ...outcome,
          release: 'kept',
          stored: true,
          state: MediaObjectState.STORED,
        });
      } else {
        // the job won: the attach was refused and the object is gone
        expect({ ...outcome, stored, record: record?.state ?? null }).toEqual({
          ...outcome,
          attach: 'IMAGE_NOT_FOUND',
          release: 'deleted',
          stored: false,
          record: null,
        });
      }
    }
  });

  it('deletes uploads no product took after UPLOAD_UNATTACHED_TTL_SECONDS, only where processors are enabled', async () => {
    // Own Bull prefix, so the suite's main app (processors on) cannot take these jobs.
    const env = { REDIS_PREFIX: `${t.config.REDIS_PREFIX}-expiry`, UPLOAD_UNATTACHED_TTL_SECONDS: '1' };
    const httpOnly = await startTestApp({ ...env, QUEUE_PROCESSORS_ENABLED: 'false' });
    let keys: string[];
    try {
      const data = new FormData();
      for (const bytes of [PNG, JPEG]) data.append('files', new Blob([bytes]), 'x');
      const uploaded = await httpOnly.http.request('POST', '/api/seller/products/images', {
        token: seller.accessToken,
        raw: data,
      });
      expect(uploaded.status).toBe(201);
      keys = (uploaded.body.imageUrls as string[]).map(keyOf);
      const kept = await httpOnly.http.post(
        '/api/seller/products',
        product([{ url: uploaded.body.imageUrls[0], type: 'MAIN' }]),
        seller.accessToken,
      );
      expect(kept.status).toBe(201);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(await Promise.all(keys.map(exists))).toEqual([true, true]); // due, but nobody processes
    } finally {
      await httpOnly.close();
    }
    const worker = await startTestApp({ ...env, HTTP_ENABLED: 'false' });
    try {
      await waitGone([keys[1]]);
      expect(await exists(keys[0])).toBe(true); // a product uses it
    } finally {
      await worker.close();
    }
  });

  it('rejects bad uploads with a clear 4xx and stores nothing', async () => {
    const customer = await t.http.member('CUSTOMER');
    const before = { keys: await storedKeys(), records: await records() };
    const big = Buffer.concat([PNG, Buffer.alloc(MAX_BYTES)]);
    const cases: [string, () => ReturnType<typeof upload>, number, string][] = [
      // the valid PNG in front is stored first, then must be cleaned up
      [
        'text file renamed .jpg',
        () =>
          upload([
            { name: 'ok.png', bytes: PNG },
            { name: 'photo.jpg', bytes: Buffer.from('just some text, not a picture\n'), type: 'image/jpeg' },
          ]),
        415,
        'UNSUPPORTED_IMAGE_TYPE',
      ],
      [
        'oversized file',
        () =>
          upload([
            { name: 'ok.png', bytes: PNG },
            { name: 'big.png', bytes: big, type: 'image/png' },
          ]),
        413,
        'FILE_TOO_LARGE',
      ],
      [
        'too many files',
        () => upload([PNG, JPEG, WEBP, PNG].map((bytes, i) => ({ name: `${i}.img`, bytes }))),
        413,
        'TOO_MANY_FILES',
      ],
      ['non-seller', () => upload([{ name: 'ok.png', bytes: PNG }], customer.accessToken), 403, 'FORBIDDEN'],
      [
        'anonymous',
        () => t.http.request('POST', '/api/seller/products/images', { raw: form([{ name: 'ok.png', bytes: PNG }]) }),
        401,
        'UNAUTHORIZED',
      ],
      ['empty field (no files)', () => upload([]), 400, 'NO_FILES'],
      [
        'empty file',
        () => upload([{ name: 'empty.png', bytes: new Uint8Array(0), type: 'image/png' }]),
        400,
        'EMPTY_FILE',
      ],
      ['wrong field name', () => upload([{ name: 'ok.png', bytes: PNG, field: 'file' }]), 400, 'UNEXPECTED_FIELD'],
      [
        'JSON instead of multipart',
        () => t.http.post('/api/seller/products/images', { files: [] }, seller.accessToken),
        415,
        'UNSUPPORTED_MEDIA_TYPE',
      ],
    ];
    for (const [name, send, status, code] of cases) {
      const result = await send();
      expect({ name, status: result.status, code: result.body?.code }).toEqual({ name, status, code });
      expect(typeof result.body.message).toBe('string');
    }
    expect(await storedKeys()).toEqual(before.keys);
    expect(await records()).toBe(before.records);

    // Attach refuses keys that were never uploaded, and other sellers' uploads.
    const forged = await t.http.post(
      '/api/seller/products',
      product([{ url: `${t.config.CDN_BASE_URL}/product/00000000-0000-4000-8000-000000000000.png`, type: 'MAIN' }]),
      seller.accessToken,
    );
    expect([forged.status, forged.body.code]).toEqual([400, 'IMAGE_NOT_FOUND']);
    const stranger = await t.http.member('SELLER');
    const theirs = await upload([{ name: 'x.png', bytes: PNG }], stranger.accessToken);
    const stolen = await t.http.post(
      '/api/seller/products',
      product([{ url: theirs.body.imageUrls[0], type: 'MAIN' }]),
      seller.accessToken,
    );
    expect([stolen.status, stolen.body.code]).toEqual([400, 'IMAGE_NOT_FOUND']);
  });
});
