import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
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

  @Get()
  list(@Query() query: SellerListQuery): Promise<SellerPageDto> {
    return this.admin.sellers(query);
  }

  /** Approves the seller; their sessions end (their tokens say "not approved"): they log in again. */
  @Post(':id/approve')
  @HttpCode(200)
  approve(@CurrentMember() actor: AuthMember, @Param() { id }: MemberIdParam, @Body(NoBody) _body: undefined): Promise<AdminMemberDto> {
    return this.admin.decideSeller(actor.id, id, SellerStatus.APPROVED);
  }

  @Post(':id/reject')
  @HttpCode(200)
  reject(@CurrentMember() actor: AuthMember, @Param() { id }: MemberIdParam, @Body(NoBody) _body: undefined): Promise<AdminMemberDto> {
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

  @Get(':id')
  get(@Param() { id }: MemberIdParam): Promise<AdminMemberDto> {
    return this.admin.get(id);
  }

  /** A banned member cannot log in, refresh or use a token (403 MEMBER_BANNED). */
  @Post(':id/ban')
  @HttpCode(200)
  ban(@CurrentMember() actor: AuthMember, @Param() { id }: MemberIdParam, @Body(NoBody) _body: undefined): Promise<AdminMemberDto> {
    return this.admin.ban(actor.id, id);
  }

  @Post(':id/unban')
  @HttpCode(200)
  unban(@CurrentMember() actor: AuthMember, @Param() { id }: MemberIdParam, @Body(NoBody) _body: undefined): Promise<AdminMemberDto> {
    return this.admin.unban(actor.id, id);
  }

  @Put(':id/role')
  setRole(@CurrentMember() actor: AuthMember, @Param() { id }: MemberIdParam, @Body() body: RoleChangeDto): Promise<AdminMemberDto> {
    return this.admin.setRole(actor.id, id, body.role);
  }

  @Delete(':id')
  @HttpCode(204)
  async remove(@CurrentMember() actor: AuthMember, @Param() { id }: MemberIdParam): Promise<void> {
    await this.admin.remove(actor.id, id);
  }
}
