import { ApiProperty } from '@nestjs/swagger';
import { IsEmail, IsIn, IsJWT, IsNotEmpty, IsString, Matches, MaxLength, MinLength } from 'class-validator';
import { Transform } from 'class-transformer';
import { IsDisplayText, POSITIVE_ID } from '../common/validation.js';
import { MemberRole, SellerStatus } from '../members/member.entity.js';

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);
const NICKNAME = /^[\p{L}\p{N}_.-]{2,30}$/u;
const PHONE = /^\+?[0-9][0-9-]{7,18}$/;
// class-validator's IsJWT: two or three base64url segments.
const JWT_SHAPE = '^[A-Za-z0-9_~+/-]+={0,2}\\.[A-Za-z0-9_~+/-]+={0,2}(\\.[A-Za-z0-9_~+/-]+={0,2})?$';
const lower = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim().toLowerCase() : value);

export class SignupDto {
  @ApiProperty({
    format: 'email',
    maxLength: 254,
    example: 'customer@email.com',
    description: 'stored trimmed and lower-cased',
  })
  @Transform(lower)
  @IsEmail()
  @MaxLength(254)
  email: string;

  @ApiProperty({ minLength: 8, maxLength: 72, example: 'password123' })
  @IsString()
  @MinLength(8)
  @MaxLength(72)
  password: string;

  @ApiProperty({ minLength: 1, maxLength: 50, example: 'Kim Minji', description: 'trimmed; no control characters' })
  @Transform(trim)
  @IsString()
  @IsDisplayText()
  @IsNotEmpty()
  @MaxLength(50)
  name: string;

  @ApiProperty({
    minLength: 2,
    maxLength: 30,
    pattern: NICKNAME.source,
    example: 'minji',
    description: 'letters, digits, _ . or -',
  })
  @Transform(trim)
  @IsString()
  @Matches(NICKNAME, { message: 'nickname must be 2-30 letters, digits, _ . or -' })
  nickname: string;

  @ApiProperty({ pattern: PHONE.source, example: '010-1234-5678' })
  @Transform(trim)
  @IsString()
  @Matches(PHONE, { message: 'phone must be digits and dashes, 8-20 characters' })
  phone: string;

  @ApiProperty({ minLength: 1, maxLength: 200, example: 'Seoul', description: 'trimmed; no control characters' })
  @Transform(trim)
  @IsString()
  @IsDisplayText()
  @IsNotEmpty()
  @MaxLength(200)
  address: string;

  @ApiProperty({
    enum: [MemberRole.CUSTOMER, MemberRole.SELLER],
    example: MemberRole.CUSTOMER,
    description: 'ADMIN cannot be self-assigned',
  })
  @IsIn([MemberRole.CUSTOMER, MemberRole.SELLER], { message: 'role must be CUSTOMER or SELLER' })
  role: MemberRole.CUSTOMER | MemberRole.SELLER;
}

export class LoginDto {
  @ApiProperty({ format: 'email', maxLength: 254, example: 'customer@email.com' })
  @Transform(lower)
  @IsEmail()
  @MaxLength(254)
  email: string;
  @ApiProperty({ minLength: 1, maxLength: 72, example: 'password' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(72)
  password: string;
}

export class RefreshDto {
  @ApiProperty({
    maxLength: 4096,
    pattern: JWT_SHAPE,
    description: 'the refresh token of the last login or refresh',
    example: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl',
  })
  @IsJWT()
  @MaxLength(4096)
  refreshToken: string;
}

export class TokenPairDto {
  @ApiProperty({
    description: 'send as `Authorization: Bearer …`; expires after 30 min',
    example: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl',
  })
  accessToken: string;
  @ApiProperty({
    description: 'for POST /api/auth/token/refresh, once',
    example: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.cmVmcmVzaA',
  })
  refreshToken: string;
}

export class SignupResultDto {
  @ApiProperty({ pattern: POSITIVE_ID.source, example: '42' }) id: string;
  @ApiProperty({ format: 'email', example: 'customer@email.com' }) email: string;
  @ApiProperty({ example: 'minji' }) nickname: string;
  @ApiProperty({ enum: MemberRole, enumName: 'MemberRole', example: MemberRole.CUSTOMER }) role: MemberRole;
  @ApiProperty({
    enum: SellerStatus,
    enumName: 'SellerStatus',
    required: false,
    description: 'SELLER only: PENDING until an admin approves',
  })
  sellerStatus?: SellerStatus;
}
