import { EntityManager } from '@mikro-orm/mysql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Member, MemberRole } from '../members/member.entity.js';
import { startTestApp, type TestApp } from '../testing/app.js';
import { Product } from './product.entity.js';

/**
 * The catalog walked end to end over HTTP against the real MariaDB. Other test files may add
 * products to the same database, so the assertions are on global sortedness and on the relative
 * order of this file's own products, never on global counts.
 */

type Sort = 'NEW' | 'HIGH_PRICE' | 'LOW_PRICE';
type Category = 'TOP' | 'PANTS' | 'SHOES';
interface Item {
  id: string;
  name: string;
  price: number;
  imageUrl: string | null;
}
interface Page {
  items: Item[];
  next: { lastId: string; lastPrice: number } | null;
}
interface Mine {
  id: string;
  price: number;
  category: Category;
}

const PAGE_SIZE = 12;
const CATEGORIES: Category[] = ['TOP', 'PANTS', 'SHOES'];
const big = (id: string) => BigInt(id);

/** Negative when a comes first in this sort order. */
function compare(sort: Sort, a: { id: string; price: number }, b: { id: string; price: number }): number {
  const byId = big(a.id) < big(b.id) ? -1 : big(a.id) > big(b.id) ? 1 : 0;
  switch (sort) {
    case 'NEW':
      return -byId;
    case 'HIGH_PRICE':
      return b.price - a.price || -byId;
    case 'LOW_PRICE':
      return a.price - b.price || byId;
  }
}

function query(sort: Sort, category: Category | undefined, cursor: Page['next']): string {
  const params = new URLSearchParams({ sort });
  if (category) params.set('category', category);
  if (cursor) {
    params.set('lastId', cursor.lastId);
    params.set('lastPrice', String(cursor.lastPrice));
  }
  return `/api/general/products?${params}`;
}

describe('catalog', () => {
  let t: TestApp;
  let seller: Awaited<ReturnType<TestApp['http']['member']>>;
  let otherSeller: Awaited<ReturnType<TestApp['http']['member']>>;
  let customer: Awaited<ReturnType<TestApp['http']['member']>>;
  let adminToken: string;
  const tag = `p${Date.now().toString(36)}`;

  const product = (overrides: Record<string, unknown> = {}) => ({
    name: `${tag} thing`,
    price: 12_000,
    description: 'a product',
    stock: 10,
    category: 'TOP',
    status: 'IN_STOCK',
    ...overrides,
  });

  /** Walks every page of one listing; checks page shape and cursors on the way. */
  async function walk(
    sort: Sort,
    category?: Category,
    between?: (pageNo: number, cursor: Page['next']) => Promise<void>,
  ): Promise<Item[]> {
    const seen: Item[] = [];
    let cursor: Page['next'] = null;
    for (let pageNo = 1; ; pageNo++) {
      const result: { status: number; body: Page } = await t.http.get<Page>(query(sort, category, cursor));
      expect(result.status, JSON.stringify(result.body)).toBe(200);
      const { items, next } = result.body;
      expect(items.length).toBeLessThanOrEqual(PAGE_SIZE);
      const repeated = items.filter((item) => seen.some((earlier) => earlier.id === item.id));
      if (repeated.length > 0)
        throw new Error(`${sort}/${category}: page ${pageNo} repeats ${repeated.map((item) => item.id).join(', ')}`);
      seen.push(...items);
      if (next === null) {
        // Only the last page may be short; a full page followed by an empty one is allowed.
        break;
      }
      expect(items).toHaveLength(PAGE_SIZE);
      expect(next).toEqual({ lastId: items.at(-1)!.id, lastPrice: items.at(-1)!.price });
      cursor = next;
      await between?.(pageNo, cursor);
    }
    return seen;
  }

  function expectSorted(sort: Sort, items: Item[]): void {
    for (let i = 1; i < items.length; i++) {
      if (compare(sort, items[i - 1], items[i]) >= 0)
        throw new Error(`${sort}: ${JSON.stringify(items[i - 1])} is listed before ${JSON.stringify(items[i])}`);
    }
  }

  beforeAll(async () => {
    // The memory cache (issue 3) is tested on its own; here every page comes from MySQL, so a
    // write is visible on the very next request.
    t = await startTestApp({ CACHE_ENABLED: 'false' });
    [seller, otherSeller, customer] = await Promise.all([
      t.http.member('SELLER'),
      t.http.member('SELLER'),
      t.http.member('CUSTOMER'),
    ]);
    // ADMIN cannot sign up: promote a member in the database (as the seed/CLI does), then log in.
    const admin = await t.http.member('CUSTOMER');
    await t.app.get(EntityManager).fork().nativeUpdate(Member, { id: admin.id }, { role: MemberRole.ADMIN });
    adminToken = (await t.http.post('/api/auth/login', { email: admin.email, password: 'password123' })).body
      .accessToken;
  });
  afterAll(() => t?.close());

  it('walks create → list → detail → update → delete as the owning seller', async () => {
    const created = await t.http.post(
      '/api/seller/products',
      product({
        name: `  ${tag} walk  `,
        price: 33_000,
        stock: 3,
        category: 'SHOES',
        description: 'Sizes:\n\t240\r\n\t250',
      }),
      seller.accessToken,
    );
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({
      sellerId: seller.id,
      name: `${tag} walk`,
      description: 'Sizes:\n\t240\r\n\t250',
      price: 33_000,
      stock: 3,
      category: 'SHOES',
      status: 'IN_STOCK',
      imageUrl: null,
      images: [],
    });
    const id: string = created.body.id;
    expect(id).toMatch(/^[1-9]\d*$/);

    const newest = await t.http.get<Page>('/api/general/products');
    expect(newest.status).toBe(200);
    expect(newest.body.items[0]).toEqual({ id, name: `${tag} walk`, price: 33_000, imageUrl: null });

    const detail = await t.http.get(`/api/general/products/${id}`);
    expect(detail.status).toBe(200);
    expect(detail.body).toEqual(created.body);

    const updated = await t.http.patch(
      `/api/seller/products/${id}`,
      { price: 31_000, status: 'SOLD_OUT' },
      seller.accessToken,
    );
    expect(updated.status, JSON.stringify(updated.body)).toBe(200);
    expect(updated.body).toMatchObject({ id, name: `${tag} walk`, price: 31_000, stock: 3, status: 'SOLD_OUT' });
    expect((await t.http.get(`/api/general/products/${id}`)).body).toMatchObject({ price: 31_000, status: 'SOLD_OUT' });
    expect((await t.http.get<Page>('/api/general/products?category=SHOES')).body.items[0]).toMatchObject({
      id,
      price: 31_000,
    });

    // Labelled as JSON without a body, as some clients send a DELETE.
    const removed = await t.http.request('DELETE', `/api/seller/products/${id}`, {
      token: seller.accessToken,
      raw: '',
      headers: { 'content-type': 'application/json' },
    });
    expect(removed.status).toBe(204);
    expect((await t.http.get(`/api/general/products/${id}`)).status).toBe(404);
    expect((await t.http.get<Page>('/api/general/products')).body.items.map((item) => item.id)).not.toContain(id);
    expect((await t.http.delete(`/api/seller/products/${id}`, seller.accessToken)).body.code).toBe('PRODUCT_NOT_FOUND');
  });

  it('enforces roles: customers cannot write, sellers only their own products, admins any', async () => {
    const created = await t.http.post('/api/seller/products', product(), seller.accessToken);
    expect(created.status).toBe(201);
    const id = created.body.id;

    for (const [what, result] of [
      ['customer create', await t.http.post('/api/seller/products', product(), customer.accessToken)],
      ['customer update', await t.http.patch(`/api/seller/products/${id}`, { price: 1 }, customer.accessToken)],
      ['customer delete', await t.http.delete(`/api/seller/products/${id}`, customer.accessToken)],
      ['other seller update', await t.http.patch(`/api/seller/products/${id}`, { price: 1 }, otherSeller.accessToken)],
      ['other seller delete', await t.http.delete(`/api/seller/products/${id}`, otherSeller.accessToken)],
    ] as const) {
      expect({ what, status: result.status, code: result.body?.code }).toEqual({
        what,
        status: 403,
        code: 'FORBIDDEN',
      });
    }
    expect((await t.http.get(`/api/general/products/${id}`)).body).toMatchObject({
      price: 12_000,
      sellerId: seller.id,
    });

    const byAdmin = await t.http.patch(`/api/seller/products/${id}`, { price: 9_000 }, adminToken);
    expect(byAdmin.status).toBe(200);
    expect(byAdmin.body).toMatchObject({ price: 9_000, sellerId: seller.id });
    const adminOwn = await t.http.post('/api/seller/products', product(), adminToken);
    expect(adminOwn.status).toBe(201);
    expect((await t.http.delete(`/api/seller/products/${adminOwn.body.id}`, adminToken)).status).toBe(204);
    expect((await t.http.delete(`/api/seller/products/${id}`, adminToken)).status).toBe(204);
    expect((await t.http.get(`/api/general/products/${id}`)).status).toBe(404);
  });

  describe('keyset pages over 240 products', () => {
    const mine: Mine[] = [];

    beforeAll(async () => {
      // 240 products created over HTTP, 24 at a time; 17 distinct prices so there are many ties.
      const specs = Array.from({ length: 240 }, (_, i) => ({
        price: ((i * 7) % 17) * 1_000,
        category: CATEGORIES[i % 3],
      }));
      for (let i = 0; i < specs.length; i += 24) {
        const batch = await Promise.all(
          specs
            .slice(i, i + 24)
            .map((spec, j) =>
              t.http.post('/api/seller/products', product({ ...spec, name: `${tag} #${i + j}` }), seller.accessToken),
            ),
        );
        for (const [j, result] of batch.entries()) {
          expect(result.status, JSON.stringify(result.body)).toBe(201);
          mine.push({ id: result.body.id, ...specs[i + j] });
        }
      }
    });

    const orders: [Sort, Category | undefined][] = [
      ['NEW', undefined],
      ['HIGH_PRICE', undefined],
      ['LOW_PRICE', undefined],
      ['NEW', 'PANTS'],
      ['HIGH_PRICE', 'PANTS'],
      ['LOW_PRICE', 'SHOES'],
    ];

    it.each(orders)(
      'sort=%s category=%s: sorted, ties by id, each product exactly once, next null at the end',
      async (sort, category) => {
        const items = await walk(sort, category);
        expectSorted(sort, items);
        const ids = items.map((item) => item.id);
        expect(new Set(ids).size).toBe(ids.length);

        const expected = mine.filter((p) => !category || p.category === category).sort((a, b) => compare(sort, a, b));
        const mineById = new Map(mine.map((p) => [p.id, p]));
        const listedMine = items.filter((item) => mineById.has(item.id));
        expect(listedMine.map((item) => item.id)).toEqual(expected.map((p) => p.id));
        for (const item of listedMine) expect(item.price).toBe(mineById.get(item.id)!.price);
        expect(expected.length).toBeGreaterThanOrEqual(category ? 80 : 240);

        if (category) {
          // Every listed product, whoever created it, is in the category.
          const rows = await t.app
            .get(EntityManager)
            .fork()
            .find(Product, { id: { $in: ids } }, { fields: ['id', 'category'] });
          expect(rows).toHaveLength(ids.length);
          expect(rows.filter((row) => row.category !== category)).toEqual([]);
        }
      },
    );

    it('a cursor past the last item gives an empty page with next=null', async () => {
      const items = await walk('LOW_PRICE');
      const tail = await t.http.get<Page>(
        query('LOW_PRICE', undefined, { lastId: items.at(-1)!.id, lastPrice: items.at(-1)!.price }),
      );
      expect(tail.body).toEqual({ items: [], next: null });
    });

    it.each(['NEW', 'HIGH_PRICE', 'LOW_PRICE'] as Sort[])(
      'sort=%s: writes between two page fetches skip or repeat none of the untouched products',
      async (sort) => {
        const touched = new Set<string>();
        let inserted: Mine[] = [];
        let deleted: Mine[] = [];
        let cursorAtWrite: Page['next'] = null;

        const items = await walk(sort, undefined, async (pageNo, cursor) => {
          if (pageNo !== 3) return;
          cursorAtWrite = cursor;
          const alive = mine.filter((p) => !touched.has(p.id)).sort((a, b) => compare(sort, a, b));
          const cursorItem = { id: cursor!.lastId, price: cursor!.lastPrice };
          const seenMine = alive.filter((p) => compare(sort, p, cursorItem) <= 0);
          const unseenMine = alive.filter((p) => compare(sort, p, cursorItem) > 0);
          // Delete one product already listed and one not yet listed (offset paging would skip one).
          deleted = [seenMine[0], unseenMine[Math.floor(unseenMine.length / 2)]];
          for (const p of deleted) {
            expect((await t.http.delete(`/api/seller/products/${p.id}`, seller.accessToken)).status).toBe(204);
            touched.add(p.id);
          }
          // Insert one product that sorts before the cursor and one after it (offset paging would repeat one).
          const cheapest = 0;
          const dearest = 16_000;
          const prices =
            sort === 'LOW_PRICE' ? [cheapest, dearest] : sort === 'HIGH_PRICE' ? [dearest, cheapest] : [5_000, 5_000];
          inserted = [];
          for (const price of prices) {
            const result = await t.http.post(
              '/api/seller/products',
              product({ price, name: `${tag} inserted` }),
              seller.accessToken,
            );
            expect(result.status).toBe(201);
            inserted.push({ id: result.body.id, price, category: 'TOP' });
            touched.add(result.body.id);
          }
        });

        expect(cursorAtWrite).not.toBeNull();
        expectSorted(sort, items);
        const ids = items.map((item) => item.id);
        expect(new Set(ids).size).toBe(ids.length);
        const untouched = mine.filter((p) => !touched.has(p.id));
        const listed = new Set(ids);
        expect(untouched.filter((p) => !listed.has(p.id)).map((p) => p.id)).toEqual([]);
        // The deleted product that had not been listed yet never shows up.
        expect(listed.has(deleted[1].id)).toBe(false);
        // A product inserted behind the cursor is not listed in this walk; one ahead of it is, exactly once.
        const cursorItem = { id: cursorAtWrite!.lastId, price: cursorAtWrite!.lastPrice };
        for (const p of inserted)
          expect({ id: p.id, listed: listed.has(p.id) }).toEqual({
            id: p.id,
            listed: compare(sort, p, cursorItem) > 0,
          });

        for (const p of deleted)
          mine.splice(
            mine.findIndex((m) => m.id === p.id),
            1,
          );
        mine.push(...inserted);
      },
    );
  });
});
