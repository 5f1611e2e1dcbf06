import { EntityManager } from '@mikro-orm/mysql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Member, MemberRole } from '../members/member.entity.js';
import { startAppWithActors, type RoleActors } from '../testing/actors.js';
import type { TestApp } from '../testing/app.js';
import { badInputTable, V, type BadInputCase } from '../testing/bad-input.js';
import { createProduct, validProduct } from '../testing/fixtures.js';

/**
 * Malformed requests to the product list, the product detail and the seller's product writes: each gets
 * the exact 4xx and code, never a 5xx. Table-driven: one row per case (src/testing/bad-input.ts).
 * What any route does with a body or a query, whatever the feature: src/common/any-route.bad-input.e2e.ts.
 */

interface Actors extends RoleActors {
  productId: string;
  othersProductId: string;
}

const CDN = 'http://127.0.0.1:4568/pick-local';

const cases: BadInputCase<Actors>[] = [
  // --- product list: cursors and filters ---
  { name: 'list: unknown sort', method: 'GET', path: '/api/general/products?sort=CHEAPEST', status: 400, code: V },
  { name: 'list: lower-case sort', method: 'GET', path: '/api/general/products?sort=new', status: 400, code: V },
  { name: 'list: unknown category', method: 'GET', path: '/api/general/products?category=HATS', status: 400, code: V },
  { name: 'list: lastId=abc', method: 'GET', path: '/api/general/products?lastId=abc', status: 400, code: V },
  { name: 'list: lastId=-1', method: 'GET', path: '/api/general/products?lastId=-1', status: 400, code: V },
  { name: 'list: lastId=0', method: 'GET', path: '/api/general/products?lastId=0', status: 400, code: V },
  {
    name: 'list: lastId 30 digits',
    method: 'GET',
    path: `/api/general/products?lastId=${'9'.repeat(30)}`,
    status: 400,
    code: V,
  },
  {
    name: 'list: lastId beyond BIGINT UNSIGNED',
    method: 'GET',
    path: '/api/general/products?lastId=99999999999999999999',
    status: 400,
    code: V,
  },
  { name: 'list: lastId fractional', method: 'GET', path: '/api/general/products?lastId=1.5', status: 400, code: V },
  {
    name: 'list: lastPrice without lastId',
    method: 'GET',
    path: '/api/general/products?sort=LOW_PRICE&lastPrice=100',
    status: 400,
    code: 'INVALID_CURSOR',
  },
  {
    name: 'list: price sort with lastId but no lastPrice',
    method: 'GET',
    path: '/api/general/products?sort=HIGH_PRICE&lastId=5',
    status: 400,
    code: 'INVALID_CURSOR',
  },
  {
    name: 'list: lastPrice negative',
    method: 'GET',
    path: '/api/general/products?sort=LOW_PRICE&lastId=5&lastPrice=-1',
    status: 400,
    code: V,
  },
  {
    name: 'list: lastPrice fractional',
    method: 'GET',
    path: '/api/general/products?sort=LOW_PRICE&lastId=5&lastPrice=1.5',
    status: 400,
    code: V,
  },
  {
    name: 'list: lastPrice huge',
    method: 'GET',
    path: '/api/general/products?sort=LOW_PRICE&lastId=5&lastPrice=99999999999999',
    status: 400,
    code: V,
  },
  {
    name: 'list: lastPrice exponent',
    method: 'GET',
    path: '/api/general/products?sort=LOW_PRICE&lastId=5&lastPrice=1e3',
    status: 400,
    code: V,
  },
  {
    name: 'list: repeated sort',
    method: 'GET',
    path: '/api/general/products?sort=NEW&sort=LOW_PRICE',
    status: 400,
    code: V,
  },
  {
    name: 'list: repeated lastId',
    method: 'GET',
    path: '/api/general/products?lastId=5&lastId=6',
    status: 400,
    code: V,
  },
  { name: 'list: unknown query parameter', method: 'GET', path: '/api/general/products?page=2', status: 400, code: V },
  {
    name: 'list: bracket query parameter',
    method: 'GET',
    path: '/api/general/products?sort[]=NEW',
    status: 400,
    code: V,
  },
  { name: 'list: empty lastId', method: 'GET', path: '/api/general/products?lastId=', status: 400, code: V },
  // --- product detail: path ids and query ---
  { name: 'detail: id abc', method: 'GET', path: '/api/general/products/abc', status: 400, code: V },
  { name: 'detail: id 0', method: 'GET', path: '/api/general/products/0', status: 400, code: V },
  { name: 'detail: id -1', method: 'GET', path: '/api/general/products/-1', status: 400, code: V },
  {
    name: 'detail: id 30 digits',
    method: 'GET',
    path: `/api/general/products/${'1'.repeat(30)}`,
    status: 400,
    code: V,
  },
  {
    name: 'detail: id beyond BIGINT UNSIGNED',
    method: 'GET',
    path: '/api/general/products/99999999999999999999',
    status: 400,
    code: V,
  },
  { name: 'detail: id with a NUL byte', method: 'GET', path: '/api/general/products/1%00', status: 400, code: V },
  {
    name: 'detail: id that does not exist',
    method: 'GET',
    path: '/api/general/products/9223372036854775807',
    status: 404,
    code: 'PRODUCT_NOT_FOUND',
  },
  {
    name: 'detail: unknown query parameter (a cached product)',
    method: 'GET',
    path: (a) => `/api/general/products/${a.productId}?x=1`,
    status: 400,
    code: V,
  },
  // --- seller writes ---
  {
    name: 'create: no token',
    method: 'POST',
    path: '/api/seller/products',
    body: validProduct,
    status: 401,
    code: 'UNAUTHORIZED',
  },
  {
    name: 'create: customer',
    method: 'POST',
    path: '/api/seller/products',
    body: validProduct,
    token: (a) => a.customer.accessToken,
    status: 403,
    code: 'FORBIDDEN',
  },
  {
    name: 'create: negative price',
    method: 'POST',
    path: '/api/seller/products',
    body: { ...validProduct, price: -1 },
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'create: fractional price',
    method: 'POST',
    path: '/api/seller/products',
    body: { ...validProduct, price: 10.5 },
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'create: NUL in the name',
    method: 'POST',
    path: '/api/seller/products',
    body: { ...validProduct, name: 'Shirt\u0000' },
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'create: line break in the name',
    method: 'POST',
    path: '/api/seller/products',
    body: { ...validProduct, name: 'Shirt\nSale' },
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'create: bell character in the description',
    method: 'POST',
    path: '/api/seller/products',
    body: { ...validProduct, description: 'soft\u0007' },
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'create: huge price',
    method: 'POST',
    path: '/api/seller/products',
    body: { ...validProduct, price: 1e15 },
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'create: price overflowing to Infinity',
    method: 'POST',
    path: '/api/seller/products',
    raw: JSON.stringify(validProduct).replace('"price":1000', '"price":1e400'),
    contentType: 'application/json',
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'create: price as a string',
    method: 'POST',
    path: '/api/seller/products',
    body: { ...validProduct, price: '1000' },
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'create: stock as boolean',
    method: 'POST',
    path: '/api/seller/products',
    body: { ...validProduct, stock: true },
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'create: negative stock',
    method: 'POST',
    path: '/api/seller/products',
    body: { ...validProduct, stock: -3 },
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'create: bad category',
    method: 'POST',
    path: '/api/seller/products',
    body: { ...validProduct, category: 'HATS' },
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'create: bad status',
    method: 'POST',
    path: '/api/seller/products',
    body: { ...validProduct, status: 'GONE' },
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'create: name overlong',
    method: 'POST',
    path: '/api/seller/products',
    body: { ...validProduct, name: 'n'.repeat(101) },
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'create: name blank',
    method: 'POST',
    path: '/api/seller/products',
    body: { ...validProduct, name: '  ' },
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'create: description overlong',
    method: 'POST',
    path: '/api/seller/products',
    body: { ...validProduct, description: 'd'.repeat(5001) },
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'create: field missing',
    method: 'POST',
    path: '/api/seller/products',
    body: { ...validProduct, category: undefined },
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'create: unknown field',
    method: 'POST',
    path: '/api/seller/products',
    body: { ...validProduct, sellerId: '1' },
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'create: null name',
    method: 'POST',
    path: '/api/seller/products',
    body: { ...validProduct, name: null },
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'create: images not an array',
    method: 'POST',
    path: '/api/seller/products',
    body: { ...validProduct, images: 'x.jpg' },
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'create: images of strings',
    method: 'POST',
    path: '/api/seller/products',
    body: { ...validProduct, images: ['x.jpg'] },
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'create: images null',
    method: 'POST',
    path: '/api/seller/products',
    body: { ...validProduct, images: null },
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'create: images of nulls',
    method: 'POST',
    path: '/api/seller/products',
    body: { ...validProduct, images: [null] },
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'create: too many images',
    method: 'POST',
    path: '/api/seller/products',
    body: {
      ...validProduct,
      images: Array.from({ length: 11 }, (_, i) => ({ url: `${CDN}/product/a${i}.jpg`, type: 'DETAIL' })),
    },
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'create: image URL from elsewhere',
    method: 'POST',
    path: '/api/seller/products',
    body: { ...validProduct, images: [{ url: 'https://evil.example/x.jpg', type: 'MAIN' }] },
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'create: image path traversal',
    method: 'POST',
    path: '/api/seller/products',
    body: { ...validProduct, images: [{ url: `${CDN}/product/../secret.jpg`, type: 'MAIN' }] },
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'create: two MAIN images',
    method: 'POST',
    path: '/api/seller/products',
    body: {
      ...validProduct,
      images: [
        { url: `${CDN}/product/a.jpg`, type: 'MAIN' },
        { url: `${CDN}/product/b.jpg`, type: 'MAIN' },
      ],
    },
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'create: image with unknown field',
    method: 'POST',
    path: '/api/seller/products',
    body: { ...validProduct, images: [{ url: `${CDN}/product/a.jpg`, type: 'MAIN', position: 3 }] },
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'create: image with bad type',
    method: 'POST',
    path: '/api/seller/products',
    body: { ...validProduct, images: [{ url: `${CDN}/product/a.jpg`, type: 'THUMB' }] },
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'create: images nested in a list',
    method: 'POST',
    path: '/api/seller/products',
    body: { ...validProduct, images: [[]] },
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'create: an image nested in a list',
    method: 'POST',
    path: '/api/seller/products',
    body: {
      ...validProduct,
      images: [[{ url: `${CDN}/product/0b6f4c1e-3d5a-4f0e-9a51-2c7d8e9f0a1b.png`, type: 'MAIN' }]],
    },
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'update: null name',
    method: 'PATCH',
    path: (a) => `/api/seller/products/${a.productId}`,
    body: { name: null },
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'update: null price',
    method: 'PATCH',
    path: (a) => `/api/seller/products/${a.productId}`,
    body: { price: null },
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'update: null images',
    method: 'PATCH',
    path: (a) => `/api/seller/products/${a.productId}`,
    body: { images: null },
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'update: wrong type',
    method: 'PATCH',
    path: (a) => `/api/seller/products/${a.productId}`,
    body: { stock: '7' },
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'update: unknown field',
    method: 'PATCH',
    path: (a) => `/api/seller/products/${a.productId}`,
    body: { id: '1' },
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'update: images nested in a list',
    method: 'PATCH',
    path: (a) => `/api/seller/products/${a.productId}`,
    body: { images: [[]] },
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'update: bad id',
    method: 'PATCH',
    path: '/api/seller/products/abc',
    body: { price: 5 },
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'update: missing product',
    method: 'PATCH',
    path: '/api/seller/products/9223372036854775807',
    body: { price: 5 },
    token: (a) => a.seller.accessToken,
    status: 404,
    code: 'PRODUCT_NOT_FOUND',
  },
  {
    name: "update: another seller's product",
    method: 'PATCH',
    path: (a) => `/api/seller/products/${a.othersProductId}`,
    body: { price: 5 },
    token: (a) => a.seller.accessToken,
    status: 403,
    code: 'FORBIDDEN',
  },
  {
    name: 'update: customer',
    method: 'PATCH',
    path: (a) => `/api/seller/products/${a.productId}`,
    body: { price: 5 },
    token: (a) => a.customer.accessToken,
    status: 403,
    code: 'FORBIDDEN',
  },
  {
    name: 'delete: bad id',
    method: 'DELETE',
    path: '/api/seller/products/1e5',
    token: (a) => a.seller.accessToken,
    status: 400,
    code: V,
  },
  {
    name: "delete: another seller's product",
    method: 'DELETE',
    path: (a) => `/api/seller/products/${a.othersProductId}`,
    token: (a) => a.seller.accessToken,
    status: 403,
    code: 'FORBIDDEN',
  },
  {
    name: 'delete: no token',
    method: 'DELETE',
    path: (a) => `/api/seller/products/${a.productId}`,
    status: 401,
    code: 'UNAUTHORIZED',
  },
];

describe('catalog: bad input', () => {
  let t: TestApp;
  let a: Actors;

  beforeAll(async () => {
    const { t: app, actors } = await startAppWithActors();
    t = app;
    const otherSeller = await t.http.member('SELLER');
    const [productId, othersProductId] = await Promise.all([
      createProduct(t.http, actors.seller.accessToken),
      createProduct(t.http, otherSeller.accessToken),
    ]);
    // The detail is cached from here on: its fast path sees the rows that query it.
    expect((await t.http.get(`/api/general/products/${productId}`)).status).toBe(200);
    a = { ...actors, productId, othersProductId };
  });
  afterAll(() => t.close());

  badInputTable(cases, () => ({ http: t.http, actors: a }), 73);

  it('failed updates changed nothing', async () => {
    const product = await t.http.get(`/api/general/products/${a.othersProductId}`);
    expect(product.body).toMatchObject({
      name: validProduct.name,
      price: validProduct.price,
      stock: validProduct.stock,
    });
    const mine = await t.http.get(`/api/general/products/${a.productId}`);
    expect(mine.body).toMatchObject({ name: validProduct.name, price: validProduct.price, stock: validProduct.stock });
  });

  it('an admin role in the database passes role checks (control for the 403 rows)', async () => {
    const admin = await t.http.member('CUSTOMER');
    await t.app.get(EntityManager).fork().nativeUpdate(Member, { id: admin.id }, { role: MemberRole.ADMIN });
    const login = await t.http.post('/api/auth/login', { email: admin.email, password: 'password123' });
    const updated = await t.http.patch(
      `/api/seller/products/${a.othersProductId}`,
      { stock: 5 },
      login.body.accessToken,
    );
    expect(updated.status).toBe(200);
  });
});
