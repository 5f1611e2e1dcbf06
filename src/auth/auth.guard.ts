import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { JwtService, TokenExpiredError } from '@nestjs/jwt';
import type { FastifyRequest } from 'fastify';
import { AppError } from '../common/errors.js';
import { MemberRole } from '../members/member.entity.js';
import { AuthMember, IS_PUBLIC, ROLES } from './auth.decorators.js';
import { ACCESS_JWT } from './tokens.js';

interface AccessPayload {
  sub: string;
  role: MemberRole;
  typ: 'access';
}

/**
 * Global guard: every route needs a valid access token unless marked @Public();
 * @Roles() narrows it further. Verification is local (HMAC), no database hit.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Inject(ACCESS_JWT) private readonly jwt: JwtService,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http') return true;
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;

    const request = context.switchToHttp().getRequest<FastifyRequest & { member?: AuthMember }>();
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer ([A-Za-z0-9._-]{10,4096})$/i.exec(header) : null;
    if (!match) throw new AppError('UNAUTHORIZED', 'A Bearer access token is required');
    let payload: AccessPayload;
    try {
      payload = this.jwt.verify<AccessPayload>(match[1]);
    } catch (error) {
      if (error instanceof TokenExpiredError) throw new AppError('TOKEN_EXPIRED', 'The access token has expired; refresh it');
      throw new AppError('INVALID_TOKEN', 'The access token is invalid');
    }
    if (payload.typ !== 'access' || typeof payload.sub !== 'string' || !Object.values(MemberRole).includes(payload.role)) {
      throw new AppError('INVALID_TOKEN', 'The access token is invalid');
    }
    request.member = { id: payload.sub, role: payload.role };

    const roles = this.reflector.getAllAndOverride<MemberRole[] | undefined>(ROLES, targets);
    if (roles && !roles.includes(payload.role)) {
      throw new AppError('FORBIDDEN', `This needs one of the roles: ${roles.join(', ')}`);
    }
    return true;
  }
}
