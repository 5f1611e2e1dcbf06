import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import type { MemberRole } from '../members/member.entity.js';

export const IS_PUBLIC = 'pick:isPublic';
export const ROLES = 'pick:roles';
export const APPROVED_SELLER = 'pick:approvedSeller';

/** No token needed. */
export const Public = () => SetMetadata(IS_PUBLIC, true);
/** Only members with one of these roles. */
export const Roles = (...roles: MemberRole[]) => SetMetadata(ROLES, roles);

/** SELLERs need an admin's approval here (403 SELLER_NOT_APPROVED); other roles pass as @Roles() allows. */
export const ApprovedSeller = () => SetMetadata(APPROVED_SELLER, true);

/** What a verified access token says about the caller. */
export interface AuthMember {
  id: string;
  role: MemberRole;
}

export const CurrentMember = createParamDecorator((_: unknown, context: ExecutionContext): AuthMember => {
  return context.switchToHttp().getRequest<{ member: AuthMember }>().member;
});
