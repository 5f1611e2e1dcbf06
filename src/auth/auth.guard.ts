import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { TokenExpiredError } from '@nestjs/jwt';
import type { FastifyRequest } from 'fastify';
import { AppError } from '../common/errors.js';
import { MemberRole } from '../members/member.entity.js';
import { APPROVED_SELLER, AuthMember, IS_PUBLIC, ROLES } from './auth.decorators.js';
import { SessionRevocations } from './session-revocations.js';
import { type AccessClaims, TokenSigning } from './token-signing.js';

const ROLE_NAMES = new Set<string>(Object.values(MemberRole));

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

/**
 * Global guard: every route needs a valid access token unless marked @Public(); @Roles() narrows
 * it further, @ApprovedSeller() refuses sellers an admin has not approved. No I/O: the signature
 * is checked locally (HMAC) and ended sessions are two Map lookups (SessionRevocations).
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly signing: TokenSigning,
    private readonly revocations: SessionRevocations,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http') return true;
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const request = context.switchToHttp().getRequest<FastifyRequest & { member?: AuthMember }>();
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer ([A-Za-z0-9._-]{10,4096})$/i.exec(header) : null;
    if (!match) throw new AppError('UNAUTHORIZED', 'A Bearer access token is required');
    let claims: AccessClaims;
    try {
      claims = this.signing.verifyAccess(match[1]);
    } catch (error) {
      if (error instanceof TokenExpiredError)
        throw new AppError('TOKEN_EXPIRED', 'The access token has expired; refresh it');
      throw new AppError('INVALID_TOKEN', 'The access token is invalid');
    }
    if (!wellFormed(claims)) throw new AppError('INVALID_TOKEN', 'The access token is invalid');
    claims.ver ??= 0;
    this.revocations.check(claims);
    request.member = { id: claims.sub, role: claims.role };
    const roles = this.reflector.getAllAndOverride<MemberRole[] | undefined>(ROLES, targets);
    if (roles && !roles.includes(claims.role)) {
      throw new AppError('FORBIDDEN', `This needs one of the roles: ${roles.join(', ')}`);
    }
    if (
      claims.role === MemberRole.SELLER &&
      claims.apr !== 1 &&
      this.reflector.getAllAndOverride<boolean>(APPROVED_SELLER, targets)
    ) {
      throw new AppError('SELLER_NOT_APPROVED', 'An admin has not approved this seller yet');
    }
    return true;
  }
}
