import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../testing/app.js';
import { createRushEvent, localAdminToken, type RushEventFile } from './create-rush-event.js';

describe('create-rush-event', () => {
  let t: TestApp;
  let dir: string;
  beforeAll(async () => {
    t = await startTestApp();
    dir = mkdtempSync(join(tmpdir(), 'pick-rush-'));
  });
  afterAll(async () => {
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates an event with one coupon of the given stock through the admin API and writes its ids for k6', async () => {
    const out = join(dir, 'rush.json');
    const before = Date.now();
    const created = await createRushEvent(
      ['--base-url', t.url, '--stock', '250', '--starts-in', '5', '--duration', '120', '--out', out],
      { ...process.env },
    );
    const written = JSON.parse(readFileSync(out, 'utf8')) as RushEventFile;
    expect(written).toEqual(created);
    expect(created.stock).toBe(250);
    const startsAt = Date.parse(created.startsAt);
    expect(startsAt).toBeGreaterThanOrEqual(before + 5000);
    expect(startsAt).toBeLessThan(before + 7000);
    expect(Date.parse(created.endsAt) - startsAt).toBe(120_000);

    const event = await t.http.get(`/api/events/${created.eventId}`);
    expect(event.status).toBe(200);
    expect(event.body.coupons).toHaveLength(1);
    expect(String(event.body.coupons[0].id)).toBe(created.couponId);
    expect(event.body.coupons[0].maxIssuance).toBe(250);
  });

  it('without admin credentials, signs a token the app accepts as an ADMIN of this database', async () => {
    const token = await localAdminToken(t.config);
    const customer = await t.http.member('CUSTOMER');
    const body = {
      name: 'admin-made',
      price: 100,
      description: 'proves the ADMIN role',
      stock: 1,
      category: 'TOP',
      status: 'IN_STOCK',
    };
    expect((await t.http.post('/api/seller/products', body, customer.accessToken)).status).toBe(403);
    expect((await t.http.post('/api/seller/products', body, token)).status).toBe(201);
    // the same admin member every time: no pile of perf admins
    const again = await localAdminToken(t.config);
    expect(JSON.parse(Buffer.from(again.split('.')[1], 'base64url').toString()).sub).toBe(
      JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).sub,
    );
  });

  it('refuses bad flags before touching anything', async () => {
    await expect(createRushEvent(['--base-url', t.url, '--stock', '0'])).rejects.toThrow(/--stock/);
    await expect(createRushEvent(['--bogus'])).rejects.toThrow(/bogus/);
  });
});
