import { EntityManager } from '@mikro-orm/mysql';
import { ClientProxy } from '@nestjs/microservices';
import { randomUUID } from 'node:crypto';
import { firstValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { BROADCAST_CLIENT, Broadcasts } from '../common/broadcast.js';
import { startTestApp, type TestApp } from '../testing/app.js';
import { createProductBroadcast, productBroadcastEvictions, untilProductBroadcast } from '../testing/catalog.js';
import { sleep, until } from '../testing/poll.js';
import { CatalogService } from './catalog.service.js';

/** The cache in one worker (the app in this process), against the real MySQL and Redis transport. */
describe('catalog cache (one worker)', () => {
  let t: TestApp;
  let seller: string;
  let service: CatalogService;
  // A category of its own per run keeps list pages free of other tests' products.
  const category = 'SHOES';

  const createProduct = (name: string, price = 1000) =>
    createProductBroadcast(t.http, seller, { name, price, category });
  /** Changes a row behind the app's back: only a cache that is really used keeps the old value. */
  const sqlRename = (id: string, name: string) =>
    t.app.get(EntityManager).fork().getConnection().execute('update product set name = ? where id = ?', [name, id]);
  const detailName = async (id: string) => (await t.http.get(`/api/general/products/${id}`)).body.name as string;
  const listNames = async () =>
    ((await t.http.get(`/api/general/products?category=${category}`)).body.items as { name: string }[]).map(
      (item) => item.name,
    );

  beforeAll(async () => {
    t = await startTestApp();
    seller = (await t.http.member('SELLER')).accessToken;
    service = t.app.get(CatalogService);
  });
  afterAll(() => t.close());

  it('serves repeat reads from memory; concurrent misses share one MySQL load; a write is visible at once', async () => {
    const id = await createProduct(`p-${randomUUID()}`);
    const loads = vi.spyOn(service, 'loadDetail');
    try {
      const responses = await Promise.all(Array.from({ length: 40 }, () => t.http.get(`/api/general/products/${id}`)));
      expect(responses.every((res) => res.status === 200 && res.body.id === id)).toBe(true);
      expect(loads).toHaveBeenCalledTimes(1);

      await sqlRename(id, 'changed-behind-the-cache');
      expect(await detailName(id)).not.toBe('changed-behind-the-cache');
      expect(loads).toHaveBeenCalledTimes(1);

      const patched = await t.http.patch(`/api/seller/products/${id}`, { name: 'renamed' }, seller);
      expect(patched.status).toBe(200);
      expect(await detailName(id)).toBe('renamed');
    } finally {
      loads.mockRestore();
    }
  });

  it('drops list pages on a product change, and a created product shows up at once', async () => {
    await createProduct(`first-${randomUUID()}`);
    const before = await listNames();
    const name = `new-${randomUUID()}`;
    await createProduct(name, 1);
    expect((await listNames())[0]).toBe(name);
    expect(before).not.toContain(name);
  });

  it('a load that read MySQL before a write never stores its stale result (detail)', async () => {
    const id = await createProduct('before');
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let readOld!: () => void;
    const oldRead = new Promise<void>((resolve) => (readOld = resolve));
    const original = service.loadDetail.bind(service);
    const spy = vi.spyOn(service, 'loadDetail').mockImplementationOnce(async (productId: string) => {
      const value = await original(productId);
      readOld();
      await gate; // a slow load: it has the old row and has not stored it yet
      return value;
    });
    try {
      const slow = t.http.get(`/api/general/products/${id}`);
      await oldRead;
      const evictionsBefore = await productBroadcastEvictions();
      expect((await t.http.patch(`/api/seller/products/${id}`, { name: 'after' }, seller)).status).toBe(200);
      // A read that starts after the write must not join the old load (which waits for `release`).
      expect(await Promise.race([detailName(id), sleep(3000).then(() => 'joined the old load')])).toBe('after');
      // Let the broadcast eviction pass too, so it cannot clean up after a missing guard.
      await untilProductBroadcast(evictionsBefore);
      release();
      expect((await slow).body.name).toBe('before'); // it began before the write: fine for its caller
      expect(await detailName(id)).toBe('after');
      expect(await detailName(id)).toBe('after');
    } finally {
      release();
      spy.mockRestore();
    }
  });

  it('a load that read MySQL before a write never stores its stale result (list page)', async () => {
    const id = await createProduct(`list-before-${randomUUID()}`, 0);
    const oldName = (await listNames())[0];
    expect(oldName).toMatch(/^list-before-/);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let readOld!: () => void;
    const oldRead = new Promise<void>((resolve) => (readOld = resolve));
    const original = service.loadListPage.bind(service);
    // Another page of the same category (cursor), so the first page stays warm and is checked too.
    const spy = vi.spyOn(service, 'loadListPage').mockImplementationOnce(async (query) => {
      const value = await original(query);
      readOld();
      await gate;
      return value;
    });
    try {
      const renamed = `list-after-${randomUUID()}`;
      const slow = t.http.get(`/api/general/products?category=${category}&lastId=999999999`);
      await oldRead;
      const evictionsBefore = await productBroadcastEvictions();
      expect((await t.http.patch(`/api/seller/products/${id}`, { name: renamed }, seller)).status).toBe(200);
      const during = await t.http.get(`/api/general/products?category=${category}&lastId=999999999`);
      expect(during.body.items[0].name).toBe(renamed);
      await untilProductBroadcast(evictionsBefore);
      release();
      expect((await slow).body.items[0].name).toBe(oldName);
      expect((await t.http.get(`/api/general/products?category=${category}&lastId=999999999`)).body.items[0].name).toBe(
        renamed,
      );
      expect((await listNames())[0]).toBe(renamed);
    } finally {
      release();
      spy.mockRestore();
    }
  });

  it('a failed write broadcasts nothing; a committed one broadcasts once', async () => {
    const id = await createProduct('owned');
    const other = (await t.http.member('SELLER')).accessToken;
    const client = t.app.get<ClientProxy>(BROADCAST_CLIENT);
    const emits = vi.spyOn(client, 'emit');
    try {
      expect((await t.http.patch(`/api/seller/products/${id}`, { name: 'x' }, other)).status).toBe(403);
      expect((await t.http.patch('/api/seller/products/999999999', { name: 'x' }, seller)).status).toBe(404);
      expect((await t.http.patch(`/api/seller/products/${id}`, { price: -1 }, seller)).status).toBe(400);
      expect((await t.http.delete(`/api/seller/products/${id}`, other)).status).toBe(403);
      expect(emits).not.toHaveBeenCalled();
      expect((await t.http.delete(`/api/seller/products/${id}`, seller)).status).toBe(204);
      expect(emits).toHaveBeenCalledTimes(1);
      expect(emits.mock.calls[0]).toEqual([
        Broadcasts.PRODUCT_CHANGED,
        { productId: id, scope: t.config.REDIS_PREFIX },
      ]);
      expect((await t.http.get(`/api/general/products/${id}`)).status).toBe(404);
    } finally {
      emits.mockRestore();
    }
  });

  it('acts on product.changed of its own deployment only (channels are shared by every Redis db)', async () => {
    const id = await createProduct('canary');
    await detailName(id);
    await sqlRename(id, 'canary-2');
    const client = t.app.get<ClientProxy>(BROADCAST_CLIENT);
    await firstValueFrom(client.emit(Broadcasts.PRODUCT_CHANGED, { productId: id, scope: 'another-deployment' }), {
      defaultValue: undefined,
    });
    await sleep(300);
    expect(await detailName(id)).toBe('canary');
    await firstValueFrom(client.emit(Broadcasts.PRODUCT_CHANGED, { productId: id, scope: t.config.REDIS_PREFIX }), {
      defaultValue: undefined,
    });
    await until('canary-2 served', async () => (await detailName(id)) === 'canary-2', Boolean, 5000, 20);
  });

  it('exports hit, miss, eviction and invalidation counters; /health/ready reports the transport', async () => {
    const metrics = (await t.http.get('/metrics')).body as string;
    for (const name of [
      'pick_cache_hits_total',
      'pick_cache_misses_total',
      'pick_cache_coalesced_total',
      'pick_cache_evictions_total',
      'pick_cache_invalidation_messages_total',
    ]) {
      expect(metrics).toMatch(new RegExp(`^${name}\\{[^}]*cache|^${name}\\{[^}]*event`, 'm'));
    }
    const hits = /^pick_cache_hits_total\{[^}]*cache="product"[^}]*\} (\d+)/m.exec(metrics);
    expect(Number(hits?.[1])).toBeGreaterThan(0);
    const ready = await t.http.get('/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body.checks.transport).toEqual({ status: 'up' });
  });

  it('CACHE_ENABLED=false takes the same path without storing; the TTL bounds staleness', async () => {
    const off = await startTestApp({ CACHE_ENABLED: 'false' });
    const short = await startTestApp({ CACHE_TTL_MS: '1000' });
    try {
      const id = await createProduct('ttl-0');
      expect((await off.http.get(`/api/general/products/${id}`)).body.name).toBe('ttl-0');
      expect((await short.http.get(`/api/general/products/${id}`)).body.name).toBe('ttl-0');
      await sqlRename(id, 'ttl-1');
      const renamedAt = Date.now();
      expect((await off.http.get(`/api/general/products/${id}`)).body.name).toBe('ttl-1');
      expect((await short.http.get(`/api/general/products/${id}`)).body.name).toBe('ttl-0');
      await until(
        'ttl-1 served',
        async () => (await short.http.get(`/api/general/products/${id}`)).body.name === 'ttl-1',
        Boolean,
        5000,
        20,
      );
      expect(Date.now() - renamedAt).toBeLessThan(2500);
    } finally {
      await off.close();
      await short.close();
    }
  });
});
