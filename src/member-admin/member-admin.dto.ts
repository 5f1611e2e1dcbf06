import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsEnum, IsOptional, Matches } from 'class-validator';
import { POSITIVE_ID } from '../common/validation.js';
import { MemberRole, SellerStatus } from '../members/member.entity.js';

export const SELLER_PAGE_SIZE = 50;

export class MemberIdParam {
  @ApiProperty({ pattern: POSITIVE_ID.source, example: '42' })
  @Matches(POSITIVE_ID, { message: 'id must be a positive integer' })
  id: string;
}

export class SellerListQuery {
  @ApiPropertyOptional({ enum: SellerStatus, default: SellerStatus.PENDING })
  @IsOptional()
  @IsEnum(SellerStatus)
  status: SellerStatus = SellerStatus.PENDING;

  @ApiPropertyOptional({
    pattern: POSITIVE_ID.source,
    description: 'id of the last seller of the previous page (from `next`)',
  })
  @IsOptional()
  @Matches(POSITIVE_ID, { message: 'lastId must be a positive integer' })
  lastId?: string;
}

export class RoleChangeDto {
  @ApiProperty({ enum: MemberRole })
  @IsEnum(MemberRole)
  role: MemberRole;
}

/** What an admin sees of a member. */
export class AdminMemberDto {
  @ApiProperty({ pattern: POSITIVE_ID.source, example: '42' }) id: string;
  @ApiProperty({ example: 'seller@email.com', description: "a deleted member's is released (`deleted:<id>`)" })
  email: string;
  @ApiProperty({ example: 'minji' }) nickname: string;
  @ApiProperty({ example: 'Kim Minji' }) name: string;
  @ApiProperty({ enum: MemberRole, enumName: 'MemberRole' }) role: MemberRole;
  @ApiProperty({ enum: SellerStatus, type: String, nullable: true, description: 'SELLERs only' })
  sellerStatus: SellerStatus | null;
  @ApiProperty() banned: boolean;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
}

export class SellerCursorDto {
  @ApiProperty({ pattern: POSITIVE_ID.source }) lastId: string;
}

export class SellerPageDto {
  @ApiProperty({ type: [AdminMemberDto] }) items: AdminMemberDto[];
  @ApiProperty({
    type: SellerCursorDto,
    nullable: true,
    description: 'pass `lastId` back for the next page; null on the last one',
  })
  next: SellerCursorDto | null;
}
