import { Body, Controller, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import { RouteConfig } from '@nestjs/platform-fastify';
import { NO_REQUEST_CONTEXT } from '../http/route-config.js';
import { claimIdsError } from './claim-hot-route.js';
import { ApiErrors, JSON_BODY, MEMBER_ONLY, PATH_PARAMS, ROLES_ONLY } from '../openapi/api-errors.js';
import { CurrentMember, Public, Roles } from '../auth/auth.decorators.js';
import type { AuthMember } from '../auth/auth.decorators.js';
import { POSITIVE_ID } from '../common/validation.js';
import { MemberRole } from '../members/member.entity.js';
import { ClaimsService } from './claims.service.js';
import {
  ClaimAcceptedDto,
  ClaimStatusDto,
  CouponPathParams,
  CreateEventDto,
  EventDto,
  EventIdParam,
  EventStatusQuery,
  EventPathParams,
  EventStatusDto,
  MemberCouponDto,
  UpdateEventDto,
} from './coupons.dto.js';
import { EventStatusService } from './event-status.service.js';
import { CouponEventsService } from './coupon-events.service.js';

@ApiTags('admin')
@ApiBearerAuth()
@Roles(MemberRole.ADMIN)
@Controller('api/admin/events')
export class AdminCouponEventsController {
  constructor(
    private readonly events: CouponEventsService,
    private readonly eventStatus: EventStatusService,
  ) {}

  @Post()
  @ApiOperation({
    operationId: 'createEvent',
    summary: 'Create a coupon event with its coupons',
    description: 'Roles: ADMIN. Times need an offset.',
  })
  @ApiCreatedResponse({ type: EventDto })
  @ApiErrors(ROLES_ONLY, JSON_BODY)
  create(@Body() body: CreateEventDto): Promise<EventDto> {
    return this.events.create(body);
  }

  @Patch(':id')
  @ApiOperation({
    operationId: 'updateEvent',
    summary: 'Change an event, change or add coupons',
    description: 'Roles: ADMIN. Every worker drops its cached copy after the change is committed.',
  })
  @ApiOkResponse({ type: EventDto })
  @ApiErrors(ROLES_ONLY, JSON_BODY, PATH_PARAMS, 'EVENT_NOT_FOUND', 'COUPON_NOT_FOUND', 'COUPON_MAX_BELOW_ISSUED')
  update(@Param() { id }: EventIdParam, @Body() body: UpdateEventDto): Promise<EventDto> {
    return this.events.update(id, body);
  }

  @Get(':id/status')
  @ApiOperation({
    operationId: 'getEventStatus',
    summary: "Live status of an event's coupons: issued, remaining, pending, rows in MySQL, claims per second",
    description:
      'Roles: ADMIN. Read live from Redis and MySQL (O(coupons) reads), or with `maxAgeMs` from the figures this worker read at most that long ago (an admin change to the event is never answered from older figures). `consistent`: issued == rows + pending.',
  })
  @ApiOkResponse({ type: EventStatusDto })
  @ApiErrors(ROLES_ONLY, PATH_PARAMS, 'EVENT_NOT_FOUND')
  status(@Param() { id }: EventIdParam, @Query() { maxAgeMs }: EventStatusQuery): Promise<EventStatusDto> {
    return this.eventStatus.status(id, maxAgeMs);
  }
}

@ApiTags('coupons')
@Controller('api/events')
export class CouponEventsController {
  constructor(
    private readonly events: CouponEventsService,
    private readonly claims: ClaimsService,
  ) {}

  @Public()
  @Get(':eventId')
  @ApiOperation({ operationId: 'getEvent', summary: 'An event, its coupons and their remaining stock' })
  @ApiOkResponse({ type: EventDto })
  @ApiErrors(PATH_PARAMS, 'EVENT_NOT_FOUND')
  event(@Param() { eventId }: EventPathParams): Promise<EventDto> {
    return this.events.publicEvent(eventId);
  }

  // The hottest route of a rush: ids are checked by a regex here instead of a class-validator
  // DTO (same 400 VALIDATION_FAILED), which is a measurable share of a claim's CPU.
  @ApiBearerAuth()
  @ApiParam({ name: 'eventId', schema: { type: 'string', pattern: POSITIVE_ID.source }, example: '1' })
  @ApiParam({ name: 'couponId', schema: { type: 'string', pattern: POSITIVE_ID.source }, example: '1' })
  @Post(':eventId/coupons/:couponId/issue')
  // Its one MySQL read (an event snapshot's miss) forks its own EntityManager.
  @RouteConfig(NO_REQUEST_CONTEXT)
  // 20 claims per member per 10 s (THROTTLE_CLAIM_MEMBER_*): an honest member claims each coupon once
  // (a double tap or a retry after a 503 adds one or two; the status is followed with GET, not limited),
  // and an event has a handful of coupons, so 20 in 10 s is several times what a person sends. A bot
  // sending 2,000 in 2 s gets 429 from its 21st on. Counted by the claim script itself (ClaimsService),
  // in the same Redis round trip as the decision; past the limit, each worker refuses from memory.
  @HttpCode(202)
  @ApiOperation({
    operationId: 'claimCoupon',
    summary: 'Claim a coupon, first come first served',
    description:
      'Any member. 202 means accepted: the coupon is yours and is being written; follow it with GET on the same path. ' +
      'A 202 (and a 409 COUPON_ALREADY_ISSUED) is sent only once the claim is on the Redis replicas the deployment requires ' +
      '(REDIS_CLAIM_REPLICAS), so it survives the loss of the Redis primary. ' +
      '503 SERVICE_UNAVAILABLE (with Retry-After) means the claim could not be decided or confirmed right now: it may ' +
      'have been recorded. Retry after Retry-After: a recorded claim answers 409 COUPON_ALREADY_ISSUED (and GET on the ' +
      'same path says PENDING or ISSUED); one that was not (or was lost with a failed primary before a replica held it) ' +
      'is decided afresh: 202, or 409 COUPON_SOLD_OUT.',
  })
  @ApiAcceptedResponse({ type: ClaimAcceptedDto })
  @ApiErrors(
    MEMBER_ONLY,
    PATH_PARAMS,
    'COUPON_NOT_FOUND',
    'EVENT_NOT_STARTED',
    'EVENT_ENDED',
    'COUPON_ALREADY_ISSUED',
    'COUPON_SOLD_OUT',
    'TOO_MANY_REQUESTS',
  )
  async claim(
    @CurrentMember() member: AuthMember,
    @Param('eventId') eventId: string,
    @Param('couponId') couponId: string,
  ): Promise<ClaimAcceptedDto> {
    const malformed = claimIdsError(eventId, couponId);
    // Counted against the member's claim limit all the same: past it, 429 whatever the ids.
    if (malformed) return this.claims.refuse(member.id, malformed);
    await this.claims.claim(eventId, couponId, member.id);
    return { status: 'PENDING' };
  }

  @ApiBearerAuth()
  @Get(':eventId/coupons/:couponId/issue')
  @ApiOperation({
    operationId: 'getClaimStatus',
    summary: "Where the caller's claim of a coupon is",
    description:
      'Any member. ISSUED: the coupon is in MySQL. PENDING: accepted, being written. NONE: no claim of yours is recorded (also after a 503 whose claim was not recorded): you may claim.',
  })
  @ApiOkResponse({ type: ClaimStatusDto })
  @ApiErrors(MEMBER_ONLY, PATH_PARAMS, 'COUPON_NOT_FOUND')
  async status(
    @CurrentMember() member: AuthMember,
    @Param() { eventId, couponId }: CouponPathParams,
  ): Promise<ClaimStatusDto> {
    return { status: await this.claims.status(eventId, couponId, member.id) };
  }
}

@ApiTags('coupons')
@ApiBearerAuth()
@Controller('api/members/me/coupons')
export class MemberCouponsController {
  constructor(private readonly claims: ClaimsService) {}

  @Get()
  @ApiOperation({
    operationId: 'listMyCoupons',
    summary: "The caller's coupons, newest first (at most 500)",
    description: 'Any member.',
  })
  @ApiOkResponse({ type: [MemberCouponDto] })
  @ApiErrors(MEMBER_ONLY)
  list(@CurrentMember() member: AuthMember): Promise<MemberCouponDto[]> {
    return this.claims.memberCoupons(member.id);
  }
}
