import { ApiProperty, ApiPropertyOptional, PartialType } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsEnum, IsInt, IsNotEmpty, IsOptional, IsString, Matches, Max, MaxLength, Min, ValidateNested } from 'class-validator';
import { IsDisplayText, IsInstant, IsOmittable, POSITIVE_ID } from '../common/validation.js';
import { DiscountType } from './coupon.entity.js';

export const MAX_ISSUANCE = 10_000_000;
export const MAX_COUPONS_PER_EVENT = 20;
export const MAX_DISCOUNT_AMOUNT = 100_000_000;

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);

export class CreateCouponDto {
  @ApiProperty({ maxLength: 100 }) @Transform(trim) @IsString() @IsDisplayText() @IsNotEmpty() @MaxLength(100)
  name: string;

  @ApiProperty({ enum: DiscountType }) @IsEnum(DiscountType)
  discountType: DiscountType;

  @ApiProperty({ description: 'percent (1-100) or an amount', minimum: 1 }) @IsInt() @Min(1) @Max(MAX_DISCOUNT_AMOUNT)
  discountValue: number;

  @ApiProperty({ minimum: 0 }) @IsInt() @Min(0) @Max(1_000_000_000)
  minimumProductPrice: number;

  @ApiProperty({ format: 'date-time' }) @IsInstant()
  validFrom: string;

  @ApiProperty({ format: 'date-time' }) @IsInstant()
  validUntil: string;

  @ApiProperty({ minimum: 1, maximum: MAX_ISSUANCE }) @IsInt() @Min(1) @Max(MAX_ISSUANCE)
  maxIssuance: number;
}

/** In a PATCH: with `id`, changes that coupon (any subset); without, adds a coupon (all fields). */
// skipNullProperties: false — an explicit null is refused (it would reach a NOT NULL column).
export class UpdateCouponDto extends PartialType(CreateCouponDto, { skipNullProperties: false }) {
  @ApiPropertyOptional() @IsOptional() @Matches(POSITIVE_ID, { message: 'id must be a positive integer' })
  id?: string;
}

export class CreateEventDto {
  @ApiProperty({ maxLength: 100 }) @Transform(trim) @IsString() @IsDisplayText() @IsNotEmpty() @MaxLength(100)
  title: string;

  @ApiProperty({ format: 'date-time' }) @IsInstant()
  startsAt: string;

  @ApiProperty({ format: 'date-time' }) @IsInstant()
  endsAt: string;

  @ApiProperty({ type: [CreateCouponDto] })
  @IsArray() @ArrayMinSize(1) @ArrayMaxSize(MAX_COUPONS_PER_EVENT) @ValidateNested({ each: true }) @Type(() => CreateCouponDto)
  coupons: CreateCouponDto[];
}

export class UpdateEventDto {
  @ApiPropertyOptional({ maxLength: 100 }) @IsOmittable() @Transform(trim) @IsString() @IsDisplayText() @IsNotEmpty() @MaxLength(100)
  title?: string;

  @ApiPropertyOptional({ format: 'date-time' }) @IsOmittable() @IsInstant()
  startsAt?: string;

  @ApiPropertyOptional({ format: 'date-time' }) @IsOmittable() @IsInstant()
  endsAt?: string;

  @ApiPropertyOptional({ type: [UpdateCouponDto], description: 'coupons not listed are kept unchanged' })
  @IsOmittable() @IsArray() @ArrayMaxSize(MAX_COUPONS_PER_EVENT) @ValidateNested({ each: true }) @Type(() => UpdateCouponDto)
  coupons?: UpdateCouponDto[];
}

export class EventIdParam {
  @ApiProperty() @Matches(POSITIVE_ID, { message: 'id must be a positive integer' })
  id: string;
}

export class EventPathParams {
  @ApiProperty() @Matches(POSITIVE_ID, { message: 'eventId must be a positive integer' })
  eventId: string;
}

export class CouponPathParams extends EventPathParams {
  @ApiProperty() @Matches(POSITIVE_ID, { message: 'couponId must be a positive integer' })
  couponId: string;
}

export interface CouponDto {
  id: string;
  name: string;
  discountType: DiscountType;
  discountValue: number;
  minimumProductPrice: number;
  validFrom: string;
  validUntil: string;
  maxIssuance: number;
  /** from Redis; null when Redis cannot answer right now */
  remaining?: number | null;
}

export interface EventDto {
  id: string;
  title: string;
  startsAt: string;
  endsAt: string;
  coupons: CouponDto[];
}

export type ClaimStatus = 'NONE' | 'PENDING' | 'ISSUED';

export interface MemberCouponDto {
  id: string;
  couponId: string;
  eventId: string;
  name: string;
  discountType: DiscountType;
  discountValue: number;
  minimumProductPrice: number;
  validFrom: string;
  validUntil: string;
  status: string;
  usedAt: string | null;
  issuedAt: string;
}
