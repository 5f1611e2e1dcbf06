import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors, PATH_PARAMS, ROLES_ONLY, JSON_BODY } from '../openapi/api-errors.js';
import { CurrentMember, Roles } from '../auth/auth.decorators.js';
import type { AuthMember } from '../auth/auth.decorators.js';
import { NoBody } from '../common/validation.js';
import { MemberRole, SellerStatus } from '../members/member.entity.js';
import { AdminMemberDto, MemberIdParam, RoleChangeDto, SellerListQuery, SellerPageDto } from './member-admin.dto.js';
import { MemberAdminService } from './member-admin.service.js';

/** Seller onboarding: a SELLER signs up PENDING; until approved, product writes and uploads get 403. */
@ApiTags('admin')
@ApiBearerAuth()
@Roles(MemberRole.ADMIN)
@Controller('api/admin/sellers')
export class AdminSellersController {
  constructor(private readonly admin: MemberAdminService) {}

  @ApiOperation({
    operationId: 'listSellers',
    summary: 'Sellers by approval status (PENDING by default), 50 per page by id',
    description: 'ADMIN.',
  })
  @ApiOkResponse({ type: SellerPageDto })
  @ApiErrors(ROLES_ONLY, 'VALIDATION_FAILED')
  @Get()
  list(@Query() query: SellerListQuery): Promise<SellerPageDto> {
    return this.admin.sellers(query);
  }

  /** Approves the seller; their sessions end (their tokens say "not approved"): they log in again. */
  @ApiOperation({
    operationId: 'approveSeller',
    summary: 'Approve a seller (their sessions end; they log in again)',
    description: 'ADMIN.',
  })
  @ApiOkResponse({ type: AdminMemberDto })
  @ApiErrors(ROLES_ONLY, PATH_PARAMS, JSON_BODY, 'MEMBER_NOT_FOUND', 'MEMBER_NOT_SELLER')
  @Post(':id/approve')
  @HttpCode(200)
  approve(
    @CurrentMember() actor: AuthMember,
    @Param() { id }: MemberIdParam,
    @Body(NoBody) _body: undefined,
  ): Promise<AdminMemberDto> {
    return this.admin.decideSeller(actor.id, id, SellerStatus.APPROVED);
  }

  @ApiOperation({ operationId: 'rejectSeller', summary: 'Reject a seller (their sessions end)', description: 'ADMIN.' })
  @ApiOkResponse({ type: AdminMemberDto })
  @ApiErrors(ROLES_ONLY, PATH_PARAMS, JSON_BODY, 'MEMBER_NOT_FOUND', 'MEMBER_NOT_SELLER')
  @Post(':id/reject')
  @HttpCode(200)
  reject(
    @CurrentMember() actor: AuthMember,
    @Param() { id }: MemberIdParam,
    @Body(NoBody) _body: undefined,
  ): Promise<AdminMemberDto> {
    return this.admin.decideSeller(actor.id, id, SellerStatus.REJECTED);
  }
}

/** Member administration: bans, roles, deletion. Each ends every session of the member. */
@ApiTags('admin')
@ApiBearerAuth()
@Roles(MemberRole.ADMIN)
@Controller('api/admin/members')
export class AdminMembersController {
  constructor(private readonly admin: MemberAdminService) {}

  @ApiOperation({ operationId: 'getMember', summary: 'A member as admins see them', description: 'ADMIN.' })
  @ApiOkResponse({ type: AdminMemberDto })
  @ApiErrors(ROLES_ONLY, PATH_PARAMS, 'MEMBER_NOT_FOUND')
  @Get(':id')
  get(@Param() { id }: MemberIdParam): Promise<AdminMemberDto> {
    return this.admin.get(id);
  }

  /** A banned member cannot log in, refresh or use a token (403 MEMBER_BANNED). */
  @ApiOperation({
    operationId: 'banMember',
    summary: 'Ban a member: every session ends, login and refresh get 403 MEMBER_BANNED',
    description: 'ADMIN.',
  })
  @ApiOkResponse({ type: AdminMemberDto })
  @ApiErrors(ROLES_ONLY, PATH_PARAMS, JSON_BODY, 'MEMBER_NOT_FOUND', 'CANNOT_TARGET_SELF')
  @Post(':id/ban')
  @HttpCode(200)
  ban(
    @CurrentMember() actor: AuthMember,
    @Param() { id }: MemberIdParam,
    @Body(NoBody) _body: undefined,
  ): Promise<AdminMemberDto> {
    return this.admin.ban(actor.id, id);
  }

  @ApiOperation({ operationId: 'unbanMember', summary: 'Lift a ban (the member logs in again)', description: 'ADMIN.' })
  @ApiOkResponse({ type: AdminMemberDto })
  @ApiErrors(ROLES_ONLY, PATH_PARAMS, JSON_BODY, 'MEMBER_NOT_FOUND')
  @Post(':id/unban')
  @HttpCode(200)
  unban(
    @CurrentMember() actor: AuthMember,
    @Param() { id }: MemberIdParam,
    @Body(NoBody) _body: undefined,
  ): Promise<AdminMemberDto> {
    return this.admin.unban(actor.id, id);
  }

  @ApiOperation({
    operationId: 'setMemberRole',
    summary: "Change a member's role (every session ends)",
    description: 'ADMIN.',
  })
  @ApiOkResponse({ type: AdminMemberDto })
  @ApiErrors(ROLES_ONLY, PATH_PARAMS, JSON_BODY, 'MEMBER_NOT_FOUND', 'CANNOT_TARGET_SELF')
  @Put(':id/role')
  setRole(
    @CurrentMember() actor: AuthMember,
    @Param() { id }: MemberIdParam,
    @Body() body: RoleChangeDto,
  ): Promise<AdminMemberDto> {
    return this.admin.setRole(actor.id, id, body.role);
  }

  @ApiOperation({
    operationId: 'deleteMember',
    summary: 'Delete a member (row kept, email/nickname/phone released, every session ends)',
    description: 'ADMIN.',
  })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiErrors(ROLES_ONLY, PATH_PARAMS, 'MEMBER_NOT_FOUND', 'CANNOT_TARGET_SELF')
  @Delete(':id')
  @HttpCode(204)
  async remove(@CurrentMember() actor: AuthMember, @Param() { id }: MemberIdParam): Promise<void> {
    await this.admin.remove(actor.id, id);
  }
}
