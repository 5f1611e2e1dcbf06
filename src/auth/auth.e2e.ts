import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../testing/app.js';

describe('auth', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('signs up, logs in, rotates the refresh token and refuses the old one', async () => {
    const member = await t.http.member('CUSTOMER');
    const first = await t.http.post('/api/auth/token/refresh', { refreshToken: member.refreshToken });
    expect(first.status).toBe(200);
    expect(first.body.refreshToken).not.toBe(member.refreshToken);
    const reused = await t.http.post('/api/auth/token/refresh', { refreshToken: member.refreshToken });
    expect(reused.status).toBe(401);
    expect(reused.body.code).toBe('REFRESH_TOKEN_REVOKED');
  });

  it('logout revokes the refresh token', async () => {
    const member = await t.http.member('SELLER');
    const out = await t.http.post('/api/auth/logout', { refreshToken: member.refreshToken }, member.accessToken);
    expect(out.status).toBe(204);
    const after = await t.http.post('/api/auth/token/refresh', { refreshToken: member.refreshToken });
    expect(after.status).toBe(401);
  });
});
