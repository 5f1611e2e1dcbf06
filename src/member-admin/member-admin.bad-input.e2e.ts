import { afterAll, beforeAll, describe, expect } from 'vitest';
import { startAppWithActors, type RoleActors, type TestMember } from '../testing/actors.js';
import type { TestApp } from '../testing/app.js';
import { badInputTable, V, type BadInputCase } from '../testing/bad-input.js';
import { createProduct, validProduct } from '../testing/fixtures.js';

/**
 * Sellers an admin has not approved (pending or rejected) on the routes that need an approved seller,
 * and malformed requests to the admin's seller and member routes: each gets the exact 4xx and code,
 * never a 5xx. Table-driven: one row per case (src/testing/bad-input.ts).
 * What any route does with a body or a query, whatever the feature: src/common/any-route.bad-input.e2e.ts.
 */

interface Actors extends RoleActors {
  productId: string;
  pendingSeller: TestMember;
  rejectedSeller: TestMember;
  deleted: TestMember;
}

const cases: BadInputCase<Actors>[] = [
  // --- sellers pending approval ---
  {
    name: 'create: pending seller',
    method: 'POST',
    path: '/api/seller/products',
    body: validProduct,
    token: (a) => a.pendingSeller.accessToken,
    status: 403,
    code: 'SELLER_NOT_APPROVED',
  },
  {
    name: 'create: rejected seller',
    method: 'POST',
    path: '/api/seller/products',
    body: validProduct,
    token: (a) => a.rejectedSeller.accessToken,
    status: 403,
    code: 'SELLER_NOT_APPROVED',
  },
  {
    name: 'update: pending seller',
    method: 'PATCH',
    path: (a) => `/api/seller/products/${a.productId}`,
    body: { price: 5 },
    token: (a) => a.pendingSeller.accessToken,
    status: 403,
    code: 'SELLER_NOT_APPROVED',
  },
  {
    name: 'upload: pending seller',
    method: 'POST',
    path: '/api/seller/products/images',
    raw: '--x\r\nContent-Disposition: form-data; name="files"; filename="a.png"\r\nContent-Type: image/png\r\n\r\nx\r\n--x--\r\n',
    contentType: 'multipart/form-data; boundary=x',
    token: (a) => a.pendingSeller.accessToken,
    status: 403,
    code: 'SELLER_NOT_APPROVED',
  },
  // --- admin: sellers and members ---
  { name: 'admin sellers: no token', method: 'GET', path: '/api/admin/sellers', status: 401, code: 'UNAUTHORIZED' },
  {
    name: 'admin sellers: customer',
    method: 'GET',
    path: '/api/admin/sellers',
    token: (a) => a.customer.accessToken,
    status: 403,
    code: 'FORBIDDEN',
  },
  {
    name: 'admin sellers: seller',
    method: 'GET',
    path: '/api/admin/sellers',
    token: (a) => a.seller.accessToken,
    status: 403,
    code: 'FORBIDDEN',
  },
  {
    name: 'admin sellers: unknown status',
    method: 'GET',
    path: '/api/admin/sellers?status=WAITING',
    token: (a) => a.admin.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'admin sellers: lower-case status',
    method: 'GET',
    path: '/api/admin/sellers?status=pending',
    token: (a) => a.admin.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'admin sellers: repeated status',
    method: 'GET',
    path: '/api/admin/sellers?status=PENDING&status=APPROVED',
    token: (a) => a.admin.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'admin sellers: lastId=abc',
    method: 'GET',
    path: '/api/admin/sellers?lastId=abc',
    token: (a) => a.admin.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'admin sellers: unknown query parameter',
    method: 'GET',
    path: '/api/admin/sellers?page=2',
    token: (a) => a.admin.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'approve: id abc',
    method: 'POST',
    path: '/api/admin/sellers/abc/approve',
    token: (a) => a.admin.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'approve: id 0',
    method: 'POST',
    path: '/api/admin/sellers/0/approve',
    token: (a) => a.admin.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'approve: id beyond BIGINT UNSIGNED',
    method: 'POST',
    path: '/api/admin/sellers/99999999999999999999/approve',
    token: (a) => a.admin.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'approve: unknown member',
    method: 'POST',
    path: '/api/admin/sellers/9223372036854775807/approve',
    token: (a) => a.admin.accessToken,
    status: 404,
    code: 'MEMBER_NOT_FOUND',
  },
  {
    name: 'approve: a customer',
    method: 'POST',
    path: (a) => `/api/admin/sellers/${a.customer.id}/approve`,
    token: (a) => a.admin.accessToken,
    status: 409,
    code: 'MEMBER_NOT_SELLER',
  },
  {
    name: 'approve: unknown body field',
    method: 'POST',
    path: (a) => `/api/admin/sellers/${a.pendingSeller.id}/approve`,
    body: { note: 'ok' },
    token: (a) => a.admin.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'approve: by a seller',
    method: 'POST',
    path: (a) => `/api/admin/sellers/${a.pendingSeller.id}/approve`,
    token: (a) => a.seller.accessToken,
    status: 403,
    code: 'FORBIDDEN',
  },
  {
    name: 'reject: unknown member',
    method: 'POST',
    path: '/api/admin/sellers/9223372036854775807/reject',
    token: (a) => a.admin.accessToken,
    status: 404,
    code: 'MEMBER_NOT_FOUND',
  },
  {
    name: 'ban: unknown member',
    method: 'POST',
    path: '/api/admin/members/9223372036854775807/ban',
    token: (a) => a.admin.accessToken,
    status: 404,
    code: 'MEMBER_NOT_FOUND',
  },
  {
    name: 'ban: the acting admin',
    method: 'POST',
    path: (a) => `/api/admin/members/${a.admin.id}/ban`,
    token: (a) => a.admin.accessToken,
    status: 409,
    code: 'CANNOT_TARGET_SELF',
  },
  {
    name: 'ban: id -1',
    method: 'POST',
    path: '/api/admin/members/-1/ban',
    token: (a) => a.admin.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'ban: by a customer',
    method: 'POST',
    path: (a) => `/api/admin/members/${a.seller.id}/ban`,
    token: (a) => a.customer.accessToken,
    status: 403,
    code: 'FORBIDDEN',
  },
  {
    name: 'unban: id 1.5',
    method: 'POST',
    path: '/api/admin/members/1.5/unban',
    token: (a) => a.admin.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'unban: a deleted member',
    method: 'POST',
    path: (a) => `/api/admin/members/${a.deleted.id}/unban`,
    token: (a) => a.admin.accessToken,
    status: 404,
    code: 'MEMBER_NOT_FOUND',
  },
  {
    name: 'role: ROOT',
    method: 'PUT',
    path: (a) => `/api/admin/members/${a.customer.id}/role`,
    body: { role: 'ROOT' },
    token: (a) => a.admin.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'role: missing',
    method: 'PUT',
    path: (a) => `/api/admin/members/${a.customer.id}/role`,
    body: {},
    token: (a) => a.admin.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'role: unknown field',
    method: 'PUT',
    path: (a) => `/api/admin/members/${a.customer.id}/role`,
    body: { role: 'SELLER', approved: true },
    token: (a) => a.admin.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'role: unknown member',
    method: 'PUT',
    path: '/api/admin/members/9223372036854775807/role',
    body: { role: 'SELLER' },
    token: (a) => a.admin.accessToken,
    status: 404,
    code: 'MEMBER_NOT_FOUND',
  },
  {
    name: 'role: the acting admin',
    method: 'PUT',
    path: (a) => `/api/admin/members/${a.admin.id}/role`,
    body: { role: 'CUSTOMER' },
    token: (a) => a.admin.accessToken,
    status: 409,
    code: 'CANNOT_TARGET_SELF',
  },
  {
    name: 'delete member: unknown',
    method: 'DELETE',
    path: '/api/admin/members/9223372036854775807',
    token: (a) => a.admin.accessToken,
    status: 404,
    code: 'MEMBER_NOT_FOUND',
  },
  {
    name: 'delete member: id with letters',
    method: 'DELETE',
    path: '/api/admin/members/12ab',
    token: (a) => a.admin.accessToken,
    status: 400,
    code: V,
  },
  {
    name: 'get member: deleted',
    method: 'GET',
    path: (a) => `/api/admin/members/${a.deleted.id}`,
    token: (a) => a.admin.accessToken,
    status: 404,
    code: 'MEMBER_NOT_FOUND',
  },
];

describe('member admin: bad input', () => {
  let t: TestApp;
  let a: Actors;

  beforeAll(async () => {
    const { t: app, actors } = await startAppWithActors();
    t = app;
    const adminToken = actors.admin.accessToken;
    const [productId, pendingSeller, rejectedSeller, deleted] = await Promise.all([
      createProduct(t.http, actors.seller.accessToken),
      t.http.member('SELLER', { approved: false }),
      t.http.member('SELLER', { approved: false }),
      t.http.member('CUSTOMER'),
    ]);
    const reject = await t.http.post(`/api/admin/sellers/${rejectedSeller.id}/reject`, undefined, adminToken);
    const rejectedLogin = await t.http.post('/api/auth/login', {
      email: rejectedSeller.email,
      password: 'password123',
    });
    const setup = [reject, rejectedLogin, await t.http.delete(`/api/admin/members/${deleted.id}`, adminToken)];
    expect(setup.map((r) => r.status)).toEqual([200, 200, 204]);
    a = {
      ...actors,
      productId,
      pendingSeller,
      rejectedSeller: { ...rejectedSeller, ...rejectedLogin.body },
      deleted,
    };
  });
  afterAll(() => t.close());

  badInputTable(cases, () => ({ http: t.http, actors: a }), 34);
});
