import { Injectable } from '@nestjs/common';
import { TokenExpiredError } from '@nestjs/jwt';
import { AppError } from '../common/errors.js';
import { MemberRole } from '../members/member.entity.js';
import type { AuthMember } from './auth.decorators.js';
import { SessionRevocations } from './session-revocations.js';
import { type AccessClaims, TokenSigning } from './token-signing.js';

const ROLE_NAMES = new Set<string>(Object.values(MemberRole));
const BEARER = /^Bearer ([A-Za-z0-9._-]{10,4096})$/i;

function wellFormed(claims: AccessClaims): boolean {
  const ver = claims.ver ?? 0; // tokens issued before session versions: version 0
  return (
    claims.typ === 'access' &&
    typeof claims.sub === 'string' &&
    ROLE_NAMES.has(claims.role) &&
    Number.isSafeInteger(ver) &&
    ver >= 0 &&
    (claims.sid === undefined || (typeof claims.sid === 'string' && claims.sid.length <= 64))
  );
}

/** A caller as the access token says, with what the route-level checks need. */
export interface VerifiedMember extends AuthMember {
  /** An admin approved this SELLER (the token's `apr`). */
  approvedSeller: boolean;
}

/**
 * The one check of an access token, for AuthGuard (every route not @Public) and any route answered
 * before Nest (a hot route): the Authorization header's Bearer token, its signature and expiry (HMAC, no
 * I/O; a verified token is remembered until its exp), its shape, and the member's ended sessions (two Map
 * lookups, SessionRevocations). Throws the 401/403 AppError a client gets.
 */
@Injectable()
export class AccessTokens {
  constructor(
    private readonly signing: TokenSigning,
    private readonly revocations: SessionRevocations,
  ) {}

  memberOf(authorization: string | string[] | undefined): VerifiedMember {
    const match = typeof authorization === 'string' ? BEARER.exec(authorization) : null;
    if (!match) throw new AppError('UNAUTHORIZED', 'A Bearer access token is required');
    let claims: Readonly<AccessClaims>;
    try {
      claims = this.signing.verifyAccess(match[1]);
    } catch (error) {
      if (error instanceof TokenExpiredError)
        throw new AppError('TOKEN_EXPIRED', 'The access token has expired; refresh it');
      throw new AppError('INVALID_TOKEN', 'The access token is invalid');
    }
    if (!wellFormed(claims)) throw new AppError('INVALID_TOKEN', 'The access token is invalid');
    // Tokens issued before session versions carry none: version 0 (the claims are shared: not mutated).
    this.revocations.check(claims.ver === undefined ? { ...claims, ver: 0 } : claims);
    return { id: claims.sub, role: claims.role, approvedSeller: claims.apr === 1 };
  }
}
