import { ApiProperty, ApiPropertyOptional, PartialType } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsEnum, IsInt, IsNotEmpty, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import {
  INSTANT_PATTERN,
  IsDisplayText,
  IsInstant,
  IsListOf,
  IsOmittable,
  POSITIVE_ID,
  queryInteger,
} from '../common/validation.js';
import { DiscountType } from './coupon.entity.js';
import { MemberCouponStatus } from './member-coupon.entity.js';

export const MAX_ISSUANCE = 10_000_000;
export const MAX_COUPONS_PER_EVENT = 20;
export const MAX_DISCOUNT_AMOUNT = 100_000_000;

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);

export class CreateCouponDto {
  @ApiProperty({ minLength: 1, maxLength: 100, example: '10% off', description: 'trimmed; no control characters' })
  @Transform(trim)
  @IsString()
  @IsDisplayText()
  @IsNotEmpty()
  @MaxLength(100)
  name: string;

  @ApiProperty({ enum: DiscountType, enumName: 'DiscountType', example: DiscountType.PERCENTAGE })
  @IsEnum(DiscountType)
  discountType: DiscountType;

  @ApiProperty({
    type: 'integer',
    description: 'percent (1-100) or an amount',
    minimum: 1,
    maximum: MAX_DISCOUNT_AMOUNT,
    example: 10,
  })
  @IsInt()
  @Min(1)
  @Max(MAX_DISCOUNT_AMOUNT)
  discountValue: number;

  @ApiProperty({ type: 'integer', minimum: 0, maximum: 1_000_000_000, example: 30000 })
  @IsInt()
  @Min(0)
  @Max(1_000_000_000)
  minimumProductPrice: number;

  @ApiProperty({ format: 'date-time', pattern: INSTANT_PATTERN, example: '2026-12-01T09:00:00+09:00' })
  @IsInstant()
  validFrom: string;

  @ApiProperty({ format: 'date-time', pattern: INSTANT_PATTERN, example: '2026-12-31T23:59:59+09:00' })
  @IsInstant()
  validUntil: string;

  @ApiProperty({ type: 'integer', minimum: 1, maximum: MAX_ISSUANCE, example: 10000 })
  @IsInt()
  @Min(1)
  @Max(MAX_ISSUANCE)
  maxIssuance: number;
}

/** In a PATCH: with `id`, changes that coupon (any subset); without, adds a coupon (all fields). */
// skipNullProperties: false — an explicit null is refused (it would reach a NOT NULL column).
export class UpdateCouponDto extends PartialType(CreateCouponDto, { skipNullProperties: false }) {
  @ApiPropertyOptional({
    pattern: POSITIVE_ID.source,
    description: 'the coupon to change; leave out to add a coupon',
    example: '3',
  })
  @IsOptional()
  @Matches(POSITIVE_ID, { message: 'id must be a positive integer' })
  id?: string;
}

export class CreateEventDto {
  @ApiProperty({ minLength: 1, maxLength: 100, example: 'Winter sale', description: 'trimmed; no control characters' })
  @Transform(trim)
  @IsString()
  @IsDisplayText()
  @IsNotEmpty()
  @MaxLength(100)
  title: string;

  @ApiProperty({ format: 'date-time', pattern: INSTANT_PATTERN, example: '2026-12-01T09:00:00+09:00' })
  @IsInstant()
  startsAt: string;

  @ApiProperty({ format: 'date-time', pattern: INSTANT_PATTERN, example: '2026-12-01T10:00:00+09:00' })
  @IsInstant()
  endsAt: string;

  @ApiProperty({ type: [CreateCouponDto], minItems: 1, maxItems: MAX_COUPONS_PER_EVENT })
  @IsListOf(() => CreateCouponDto, { min: 1, max: MAX_COUPONS_PER_EVENT })
  coupons: CreateCouponDto[];
}

export class UpdateEventDto {
  @ApiPropertyOptional({ minLength: 1, maxLength: 100, example: 'Winter sale, extended' })
  @IsOmittable()
  @Transform(trim)
  @IsString()
  @IsDisplayText()
  @IsNotEmpty()
  @MaxLength(100)
  title?: string;

  @ApiPropertyOptional({ format: 'date-time', pattern: INSTANT_PATTERN })
  @IsOmittable()
  @IsInstant()
  startsAt?: string;

  @ApiPropertyOptional({ format: 'date-time', pattern: INSTANT_PATTERN, example: '2026-12-01T11:00:00+09:00' })
  @IsOmittable()
  @IsInstant()
  endsAt?: string;

  @ApiPropertyOptional({
    type: [UpdateCouponDto],
    maxItems: MAX_COUPONS_PER_EVENT,
    description: 'coupons not listed are kept unchanged',
  })
  @IsOmittable()
  @IsListOf(() => UpdateCouponDto, { max: MAX_COUPONS_PER_EVENT })
  coupons?: UpdateCouponDto[];
}

export class EventIdParam {
  @ApiProperty({ pattern: POSITIVE_ID.source, example: '1' })
  @Matches(POSITIVE_ID, { message: 'id must be a positive integer' })
  id: string;
}

export class EventPathParams {
  @ApiProperty({ pattern: POSITIVE_ID.source, example: '1' })
  @Matches(POSITIVE_ID, { message: 'eventId must be a positive integer' })
  eventId: string;
}

export class CouponPathParams extends EventPathParams {
  @ApiProperty({ pattern: POSITIVE_ID.source, example: '1' })
  @Matches(POSITIVE_ID, { message: 'couponId must be a positive integer' })
  couponId: string;
}

export class CouponDto {
  @ApiProperty({ pattern: POSITIVE_ID.source, example: '1' }) id: string;
  @ApiProperty({ example: '10% off' }) name: string;
  @ApiProperty({ enum: DiscountType, enumName: 'DiscountType' }) discountType: DiscountType;
  @ApiProperty({ type: 'integer', minimum: 1, example: 10 }) discountValue: number;
  @ApiProperty({ type: 'integer', minimum: 0, example: 30000 }) minimumProductPrice: number;
  @ApiProperty({ format: 'date-time', example: '2026-12-01T00:00:00.000Z' }) validFrom: string;
  @ApiProperty({ format: 'date-time', example: '2026-12-31T14:59:59.000Z' }) validUntil: string;
  @ApiProperty({ type: 'integer', minimum: 1, example: 10000 }) maxIssuance: number;
  /** from Redis; null when Redis cannot answer right now */
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 0,
    nullable: true,
    example: 9421,
    description: 'coupons left (GET /api/events/{eventId} only); null when the stock cannot be read right now',
  })
  remaining?: number | null;
}

export class EventDto {
  @ApiProperty({ pattern: POSITIVE_ID.source, example: '1' }) id: string;
  @ApiProperty({ example: 'Winter sale' }) title: string;
  @ApiProperty({ format: 'date-time', example: '2026-12-01T00:00:00.000Z' }) startsAt: string;
  @ApiProperty({ format: 'date-time', example: '2026-12-01T01:00:00.000Z' }) endsAt: string;
  @ApiProperty({ type: [CouponDto] }) coupons: CouponDto[];
}

export const CLAIM_STATUSES = ['NONE', 'PENDING', 'ISSUED'] as const;
export type ClaimStatus = (typeof CLAIM_STATUSES)[number];

export class ClaimAcceptedDto {
  @ApiProperty({
    enum: ['PENDING'],
    description: 'accepted; the coupon is being written (GET the same path to follow it)',
  })
  status: 'PENDING';
}

export class ClaimStatusDto {
  @ApiProperty({
    enum: CLAIM_STATUSES,
    enumName: 'ClaimStatus',
    description: 'NONE: not claimed; PENDING: accepted, being written; ISSUED: in your coupons',
  })
  status: ClaimStatus;
}

export class MemberCouponDto {
  @ApiProperty({ pattern: POSITIVE_ID.source, example: '31' }) id: string;
  @ApiProperty({ pattern: POSITIVE_ID.source, example: '1' }) couponId: string;
  @ApiProperty({ pattern: POSITIVE_ID.source, example: '1' }) eventId: string;
  @ApiProperty({ example: '10% off' }) name: string;
  @ApiProperty({ enum: DiscountType, enumName: 'DiscountType' }) discountType: DiscountType;
  @ApiProperty({ type: 'integer', minimum: 1, example: 10 }) discountValue: number;
  @ApiProperty({ type: 'integer', minimum: 0, example: 30000 }) minimumProductPrice: number;
  @ApiProperty({ format: 'date-time' }) validFrom: string;
  @ApiProperty({ format: 'date-time' }) validUntil: string;
  @ApiProperty({ enum: MemberCouponStatus, enumName: 'MemberCouponStatus' }) status: MemberCouponStatus;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) usedAt: string | null;
  @ApiProperty({ format: 'date-time' }) issuedAt: string;
}

/** One coupon's live figures (GET /api/admin/events/:id/status). */
export class CouponStatusDto {
  @ApiProperty({ pattern: POSITIVE_ID.source, example: '1' }) couponId: string;
  @ApiProperty({ example: '10% off' }) name: string;
  @ApiProperty({ type: 'integer', minimum: 1, example: 10000, description: 'maxIssuance (MySQL)' }) max: number;
  @ApiProperty({
    type: 'integer',
    minimum: 0,
    example: 10000,
    description: 'claims accepted in Redis (pending or persisted)',
  })
  issued: number;
  @ApiProperty({ type: 'integer', minimum: 0, example: 0, description: 'max - issued, at least 0' }) remaining: number;
  @ApiProperty({ type: 'integer', minimum: 0, example: 0, description: 'accepted, not yet in MySQL' }) pending: number;
  @ApiProperty({
    type: 'integer',
    minimum: 0,
    nullable: true,
    example: null,
    description: 'age of the oldest pending claim in ms; null when none is pending',
  })
  oldestPendingAgeMs: number | null;
  @ApiProperty({ type: 'integer', minimum: 0, example: 10000, description: 'member_coupon rows in MySQL' })
  rows: number;
  @ApiProperty({
    description: 'false: Redis holds no state for this coupon (rebuilt from MySQL on the next claim or sweep)',
  })
  stateInRedis: boolean;
  @ApiProperty({
    description:
      'the state was reconciled with MySQL on the Redis server answering now; false after a restart, a failover or a restore until the next claim or sweep reconciles it (no claim is decided before)',
  })
  reconciled: boolean;
  @ApiProperty({
    description:
      'Redis and MySQL agree: reconciled, and issued == rows + pending (a claim being written can make it false for an instant; exported as pick_coupon_consistent)',
  })
  consistent: boolean;
  @ApiProperty({
    type: 'integer',
    minimum: 0,
    example: 6000,
    description: 'claims accepted in the last 60 s (this second included)',
  })
  acceptedLastMinute: number;
  @ApiProperty({ type: 'number', minimum: 0, example: 100, description: 'acceptedLastMinute / 60' })
  claimsPerSecond: number;
}

/** Longest `maxAgeMs` a status poll may accept. */
export const STATUS_MAX_AGE_LIMIT_MS = 5_000;
const MAX_AGE_RULE = `maxAgeMs must be an integer from 0 to ${STATUS_MAX_AGE_LIMIT_MS}`;

export class EventStatusQuery {
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 0,
    maximum: STATUS_MAX_AGE_LIMIT_MS,
    default: 0,
    description:
      'the oldest figures (ms) this poll accepts. 0: read Redis and MySQL now. A dashboard polling during a rush passes a few hundred: it is then answered at once from the figures this worker reads every 100 ms while it is polled (`at` says when they were read)',
  })
  @IsOptional()
  @Transform(queryInteger)
  @IsInt({ message: MAX_AGE_RULE })
  @Min(0, { message: MAX_AGE_RULE })
  @Max(STATUS_MAX_AGE_LIMIT_MS, { message: MAX_AGE_RULE })
  maxAgeMs = 0;
}

export class EventStatusDto {
  @ApiProperty({ pattern: POSITIVE_ID.source, example: '1' }) eventId: string;
  @ApiProperty({ example: 'Winter sale' }) title: string;
  @ApiProperty({ format: 'date-time', description: 'when these figures were read' }) at: string;
  @ApiProperty({ type: [CouponStatusDto] }) coupons: CouponStatusDto[];
}
