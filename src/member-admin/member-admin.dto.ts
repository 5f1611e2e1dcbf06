import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsEnum, IsOptional, Matches } from 'class-validator';
import { POSITIVE_ID } from '../common/validation.js';
import { MemberRole, SellerStatus } from '../members/member.entity.js';

export const SELLER_PAGE_SIZE = 50;

export class MemberIdParam {
  @ApiProperty() @Matches(POSITIVE_ID, { message: 'id must be a positive integer' })
  id: string;
}

export class SellerListQuery {
  @ApiPropertyOptional({ enum: SellerStatus, default: SellerStatus.PENDING })
  @IsOptional() @IsEnum(SellerStatus)
  status: SellerStatus = SellerStatus.PENDING;

  @ApiPropertyOptional({ description: 'id of the last seller of the previous page (from `next`)' })
  @IsOptional() @Matches(POSITIVE_ID, { message: 'lastId must be a positive integer' })
  lastId?: string;
}

export class RoleChangeDto {
  @ApiProperty({ enum: MemberRole }) @IsEnum(MemberRole)
  role: MemberRole;
}

/** What an admin sees of a member. */
export class AdminMemberDto {
  @ApiProperty() id: string;
  @ApiProperty() email: string;
  @ApiProperty() nickname: string;
  @ApiProperty() name: string;
  @ApiProperty({ enum: MemberRole }) role: MemberRole;
  @ApiProperty({ enum: SellerStatus, nullable: true, description: 'SELLERs only' }) sellerStatus: SellerStatus | null;
  @ApiProperty() banned: boolean;
  @ApiProperty() createdAt: string;
}

export class SellerPageDto {
  @ApiProperty({ type: [AdminMemberDto] }) items: AdminMemberDto[];
  @ApiProperty({ nullable: true, description: 'pass `lastId` back for the next page; null on the last one' })
  next: { lastId: string } | null;
}
