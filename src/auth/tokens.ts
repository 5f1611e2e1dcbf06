import { Inject, Injectable } from '@nestjs/common';
import { JwtService, TokenExpiredError } from '@nestjs/jwt';
import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import type { AppConfig } from '../../config/env.js';
import { APP_CONFIG } from '../common/config.module.js';
import { AppError } from '../common/errors.js';
import type { MemberRole } from '../members/member.entity.js';

export const ACCESS_JWT = Symbol('ACCESS_JWT');
export const REFRESH_JWT = Symbol('REFRESH_JWT');

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
}

interface RefreshPayload {
  sub: string;
  role: MemberRole;
  jti: string;
  typ: 'refresh';
}

/**
 * Access tokens are short-lived JWTs checked locally. Refresh tokens are JWTs whose id
 * is kept in Redis (`<prefix>:rt:<memberId>:<jti>`) until used once, revoked or expired:
 * rotation deletes the old id atomically, so a reused refresh token is refused.
 */
@Injectable()
export class TokenService {
  constructor(
    @Inject(ACCESS_JWT) private readonly accessJwt: JwtService,
    @Inject(REFRESH_JWT) private readonly refreshJwt: JwtService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly redis: Redis,
  ) {}

  /** Signs an access token without touching Redis (also used to mint benchmark tokens in bulk). */
  signAccess(memberId: string, role: MemberRole): string {
    return this.accessJwt.sign({ sub: memberId, role, typ: 'access' });
  }

  async issue(memberId: string, role: MemberRole): Promise<TokenPair> {
    const jti = randomUUID();
    const refreshToken = this.refreshJwt.sign({ sub: memberId, role, jti, typ: 'refresh' });
    await this.redis.set(this.key(memberId, jti), '1', 'EX', this.config.JWT_REFRESH_TTL_SECONDS);
    return { accessToken: this.signAccess(memberId, role), refreshToken };
  }

  /** Rotates: the presented token stops working, a new pair is returned. */
  async rotate(refreshToken: string): Promise<TokenPair> {
    const payload = this.verifyRefresh(refreshToken);
    const deleted = await this.redis.del(this.key(payload.sub, payload.jti));
    if (deleted !== 1) throw new AppError('REFRESH_TOKEN_REVOKED', 'The refresh token was already used or revoked');
    return this.issue(payload.sub, payload.role);
  }

  /** Revokes one refresh token of this member (logout). Unknown or foreign tokens are refused. */
  async revoke(memberId: string, refreshToken: string): Promise<void> {
    const payload = this.verifyRefresh(refreshToken);
    if (payload.sub !== memberId) throw new AppError('INVALID_TOKEN', 'The refresh token belongs to another member');
    await this.redis.del(this.key(payload.sub, payload.jti));
  }

  private verifyRefresh(token: string): RefreshPayload {
    let payload: RefreshPayload;
    try {
      payload = this.refreshJwt.verify<RefreshPayload>(token);
    } catch (error) {
      if (error instanceof TokenExpiredError) throw new AppError('TOKEN_EXPIRED', 'The refresh token has expired; log in again');
      throw new AppError('INVALID_TOKEN', 'The refresh token is invalid');
    }
    if (payload.typ !== 'refresh' || typeof payload.jti !== 'string' || typeof payload.sub !== 'string') {
      throw new AppError('INVALID_TOKEN', 'The refresh token is invalid');
    }
    return payload;
  }

  private key(memberId: string, jti: string): string {
    return `${this.config.REDIS_PREFIX}:rt:${memberId}:${jti}`;
  }
}
