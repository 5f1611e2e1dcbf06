import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { AppError } from '../common/errors.js';
import { MemberRole } from '../members/member.entity.js';
import { AccessTokens } from './access-tokens.js';
import { APPROVED_SELLER, AuthMember, IS_PUBLIC, ROLES } from './auth.decorators.js';

/**
 * Global guard: every route needs a valid access token unless marked @Public(); @Roles() narrows
 * it further, @ApprovedSeller() refuses sellers an admin has not approved. No I/O (AccessTokens).
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: AccessTokens,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http') return true;
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const request = context.switchToHttp().getRequest<FastifyRequest & { member?: AuthMember }>();
    const member = this.tokens.memberOf(request.headers.authorization);
    request.member = { id: member.id, role: member.role };
    const roles = this.reflector.getAllAndOverride<MemberRole[] | undefined>(ROLES, targets);
    if (roles && !roles.includes(member.role)) {
      throw new AppError('FORBIDDEN', `This needs one of the roles: ${roles.join(', ')}`);
    }
    if (
      member.role === MemberRole.SELLER &&
      !member.approvedSeller &&
      this.reflector.getAllAndOverride<boolean>(APPROVED_SELLER, targets)
    ) {
      throw new AppError('SELLER_NOT_APPROVED', 'An admin has not approved this seller yet');
    }
    return true;
  }
}
