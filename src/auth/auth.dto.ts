import { ApiProperty } from '@nestjs/swagger';
import { IsEmail, IsIn, IsJWT, IsNotEmpty, IsString, Matches, MaxLength, MinLength } from 'class-validator';
import { Transform } from 'class-transformer';
import { IsDisplayText, IsWellFormedText } from '../common/validation.js';
import { MemberRole, SellerStatus } from '../members/member.entity.js';

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);
const lower = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim().toLowerCase() : value);

export class SignupDto {
  @ApiProperty({ example: 'customer@email.com' })
  @Transform(lower) @IsEmail() @MaxLength(254)
  email: string;

  @ApiProperty({ minLength: 8, maxLength: 72 })
  @IsString() @IsWellFormedText() @MinLength(8) @MaxLength(72)
  password: string;

  @ApiProperty({ maxLength: 50 })
  @Transform(trim) @IsString() @IsDisplayText() @IsNotEmpty() @MaxLength(50)
  name: string;

  @ApiProperty({ maxLength: 30 })
  @Transform(trim) @IsString() @Matches(/^[\p{L}\p{N}_.-]{2,30}$/u, { message: 'nickname must be 2-30 letters, digits, _ . or -' })
  nickname: string;

  @ApiProperty({ example: '010-1234-5678' })
  @Transform(trim) @IsString() @Matches(/^\+?[0-9][0-9-]{7,18}$/, { message: 'phone must be digits and dashes, 8-20 characters' })
  phone: string;

  @ApiProperty({ maxLength: 200 })
  @Transform(trim) @IsString() @IsDisplayText() @IsNotEmpty() @MaxLength(200)
  address: string;

  @ApiProperty({ enum: [MemberRole.CUSTOMER, MemberRole.SELLER] })
  @IsIn([MemberRole.CUSTOMER, MemberRole.SELLER], { message: 'role must be CUSTOMER or SELLER' })
  role: MemberRole.CUSTOMER | MemberRole.SELLER;
}

export class LoginDto {
  @ApiProperty() @Transform(lower) @IsEmail() @MaxLength(254) email: string;
  @ApiProperty() @IsString() @IsNotEmpty() @MaxLength(72) password: string;
}

export class RefreshDto {
  @ApiProperty() @IsJWT() @MaxLength(4096) refreshToken: string;
}

export class TokenPairDto {
  @ApiProperty() accessToken: string;
  @ApiProperty() refreshToken: string;
}

export class SignupResultDto {
  @ApiProperty() id: string;
  @ApiProperty() email: string;
  @ApiProperty() nickname: string;
  @ApiProperty({ enum: MemberRole }) role: MemberRole;
  @ApiProperty({ enum: SellerStatus, required: false, description: 'SELLER only: PENDING until an admin approves' }) sellerStatus?: SellerStatus;
}
