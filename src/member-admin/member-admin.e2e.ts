import { EntityManager } from '@mikro-orm/mysql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Member } from '../members/member.entity.js';
import { testAdminToken } from '../testing/admin.js';
import { startTestApp, type TestApp } from '../testing/app.js';
import { validProduct } from '../testing/fixtures.js';

const png = Buffer.from(
  '89504e470d0a1a0a0000000d4948445200000001000000010806000000' +
    '1f15c4890000000d49444154789c63f8ffff3f0005fe02fea7d6a4f30000000049454e44ae426082',
  'hex',
);

describe('admin: seller approval and member administration', () => {
  let t: TestApp;
  let admin: string;

  beforeAll(async () => {
    t = await startTestApp();
    admin = await testAdminToken();
  });
  afterAll(() => t?.close());

  const upload = (token: string) => {
    const form = new FormData();
    form.append('files', new Blob([png], { type: 'image/png' }), 'a.png');
    return t.http.request('POST', '/api/seller/products/images', { raw: form, token });
  };
  const sellers = async (query: string) =>
    (await t.http.get(`/api/admin/sellers${query}`, admin)).body.items.map((m: { id: string }) => m.id) as string[];
  // The page that starts at this member: the run's other files (the fuzzer's signups) fill the first pages.
  const from = (id: string) => `lastId=${BigInt(id) - 1n}`;

  it('a SELLER signs up pending: 403 SELLER_NOT_APPROVED on product writes and uploads until an admin approves', async () => {
    const seller = await t.http.member('SELLER', { approved: false });
    const me = await t.http.get(`/api/admin/members/${seller.id}`, admin);
    expect(me.body).toMatchObject({ id: seller.id, role: 'SELLER', sellerStatus: 'PENDING', banned: false });
    expect(await sellers(`?status=PENDING&${from(seller.id)}`)).toContain(seller.id);
    expect(await sellers(`?${from(seller.id)}`)).toContain(seller.id); // PENDING is the default
    const created = await t.http.post('/api/seller/products', validProduct, seller.accessToken);
    expect([created.status, created.body.code]).toEqual([403, 'SELLER_NOT_APPROVED']);
    const uploaded = await upload(seller.accessToken);
    expect([uploaded.status, uploaded.body.code]).toEqual([403, 'SELLER_NOT_APPROVED']);

    const approved = await t.http.post(`/api/admin/sellers/${seller.id}/approve`, undefined, admin);
    expect([approved.status, approved.body.sellerStatus]).toEqual([200, 'APPROVED']);
    expect(await sellers(`?status=PENDING&${from(seller.id)}`)).not.toContain(seller.id);
    expect(await sellers(`?status=APPROVED&${from(seller.id)}`)).toContain(seller.id);
    // The approval changed what the tokens say: the old session ended, a new login can sell.
    expect((await t.http.post('/api/seller/products', validProduct, seller.accessToken)).body.code).toBe(
      'SESSION_ENDED',
    );
    const login = await t.http.post('/api/auth/login', { email: seller.email, password: 'password123' });
    expect((await t.http.post('/api/seller/products', validProduct, login.body.accessToken)).status).toBe(201);
    expect((await upload(login.body.accessToken)).status).toBe(201);
    // Approving again changes nothing and ends nothing.
    expect((await t.http.post(`/api/admin/sellers/${seller.id}/approve`, {}, admin)).status).toBe(200);
    expect((await t.http.post('/api/seller/products', validProduct, login.body.accessToken)).status).toBe(201);
  });

  it('a rejected seller is refused, and rejecting an approved seller ends their sessions', async () => {
    const seller = await t.http.member('SELLER');
    expect((await t.http.post('/api/seller/products', validProduct, seller.accessToken)).status).toBe(201);
    const rejected = await t.http.post(`/api/admin/sellers/${seller.id}/reject`, undefined, admin);
    expect([rejected.status, rejected.body.sellerStatus]).toEqual([200, 'REJECTED']);
    expect(await sellers(`?status=REJECTED&${from(seller.id)}`)).toContain(seller.id);
    expect((await t.http.post('/api/seller/products', validProduct, seller.accessToken)).body.code).toBe(
      'SESSION_ENDED',
    );
    const login = await t.http.post('/api/auth/login', { email: seller.email, password: 'password123' });
    expect((await t.http.post('/api/seller/products', validProduct, login.body.accessToken)).body.code).toBe(
      'SELLER_NOT_APPROVED',
    );
  });

  it('pages pending sellers by id with lastId', async () => {
    const created = [];
    for (let i = 0; i < 3; i++) created.push((await t.http.member('SELLER', { approved: false })).id);
    const all = await sellers('?status=PENDING');
    expect(all).toEqual([...all].sort((x, y) => Number(x) - Number(y)));
    const after = await sellers(`?status=PENDING&lastId=${created[0]}`);
    expect(after).not.toContain(created[0]);
    expect(after).toEqual(expect.arrayContaining(created.slice(1)));
  });

  it('10 concurrent approvals of one seller: all 200, one change (the session version moves once)', async () => {
    const seller = await t.http.member('SELLER', { approved: false });
    const before = await t.app.get(EntityManager).fork().findOneOrFail(Member, seller.id);
    const results = await Promise.all(
      Array.from({ length: 10 }, () => t.http.post(`/api/admin/sellers/${seller.id}/approve`, undefined, admin)),
    );
    expect(results.map((r) => r.status)).toEqual(Array(10).fill(200));
    const after = await t.app.get(EntityManager).fork().findOneOrFail(Member, seller.id);
    expect([after.sellerStatus, after.sessionVersion]).toEqual(['APPROVED', before.sessionVersion + 1]);
  });

  it('an admin makes a customer a seller (approved) and back; a deleted member frees their email', async () => {
    const member = await t.http.member('CUSTOMER');
    const promoted = await t.http.request('PUT', `/api/admin/members/${member.id}/role`, {
      body: { role: 'SELLER' },
      token: admin,
    });
    expect([promoted.status, promoted.body.role, promoted.body.sellerStatus]).toEqual([200, 'SELLER', 'APPROVED']);
    const login = await t.http.post('/api/auth/login', { email: member.email, password: 'password123' });
    expect((await t.http.post('/api/seller/products', validProduct, login.body.accessToken)).status).toBe(201);
    expect((await t.http.delete(`/api/admin/members/${member.id}`, admin)).status).toBe(204);
    expect((await t.http.delete(`/api/admin/members/${member.id}`, admin)).body.code).toBe('MEMBER_NOT_FOUND');
    const again = await t.http.post('/api/auth/signup', {
      email: member.email,
      password: 'password123',
      name: 'Again',
      nickname: `again${member.id}`,
      phone: `010-7${member.id.padStart(7, '0')}`,
      address: 'Seoul',
      role: 'CUSTOMER',
    });
    expect(again.status).toBe(201);
    expect(again.body.id).not.toBe(member.id);
  });
});
