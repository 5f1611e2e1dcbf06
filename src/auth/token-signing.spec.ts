import { TokenExpiredError } from '@nestjs/jwt';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../config/env.js';
import { MemberRole } from '../members/member.entity.js';
import { type AccessClaims, TokenSigning } from './token-signing.js';

const subject = { id: '42', role: MemberRole.CUSTOMER, sessionVersion: 3, sellerStatus: null };

describe('TokenSigning.verifyAccess (verified tokens remembered per process)', () => {
  afterEach(() => vi.useRealTimers());

  it('answers a repeated token with the same claims, and a caller cannot change them', () => {
    const signing = new TokenSigning(loadConfig({}));
    const token = signing.signAccess(subject, 'session-1');
    const first = signing.verifyAccess(token) as AccessClaims;
    expect(first).toMatchObject({ sub: '42', role: 'CUSTOMER', typ: 'access', ver: 3, sid: 'session-1' });
    expect(() => (first.role = MemberRole.ADMIN)).toThrow(TypeError);
    expect(() => (first.ver = 99)).toThrow(TypeError);
    expect(signing.verifyAccess(token)).toMatchObject({ role: 'CUSTOMER', ver: 3 });
    expect(signing.verifyAccess(token)).toMatchObject({ role: 'CUSTOMER', ver: 3 });
  });

  it('refuses a token whose payload or signature was altered, while the original is remembered', () => {
    const signing = new TokenSigning(loadConfig({}));
    const token = signing.signAccess(subject);
    signing.verifyAccess(token);
    const [header, payload, signature] = token.split('.');
    const forgedPayload = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), role: 'ADMIN' }),
    ).toString('base64url');
    expect(() => signing.verifyAccess(`${header}.${forgedPayload}.${signature}`)).toThrow();
    const flipped = signature.slice(0, -2) + (signature.at(-2) === 'A' ? 'B' : 'A') + signature.at(-1);
    expect(() => signing.verifyAccess(`${header}.${payload}.${flipped}`)).toThrow();
    // Another secret's token with the same claims is refused too.
    const other = new TokenSigning(loadConfig({ JWT_ACCESS_SECRET: 'another-secret-of-enough-length' }));
    expect(() => signing.verifyAccess(other.signAccess(subject))).toThrow();
  });

  it('refuses a remembered token once it has expired (TokenExpiredError, as before the cache)', () => {
    vi.useFakeTimers({ now: new Date('2026-12-06T12:00:00Z'), toFake: ['Date'] });
    const signing = new TokenSigning(loadConfig({ JWT_ACCESS_TTL_SECONDS: '60' }));
    const token = signing.signAccess(subject);
    expect(signing.verifyAccess(token).sub).toBe('42');
    vi.setSystemTime(new Date('2026-12-06T12:00:59Z'));
    expect(signing.verifyAccess(token).sub).toBe('42');
    vi.setSystemTime(new Date('2026-12-06T12:01:00Z'));
    expect(() => signing.verifyAccess(token)).toThrow(TokenExpiredError);
    expect(() => signing.verifyAccess(token)).toThrow(TokenExpiredError);
  });
});
