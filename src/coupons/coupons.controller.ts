import { Body, Controller, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiParam, ApiTags } from '@nestjs/swagger';
import { AppError } from '../common/errors.js';
import { CurrentMember, Public, Roles } from '../auth/auth.decorators.js';
import type { AuthMember } from '../auth/auth.decorators.js';
import { POSITIVE_ID } from '../common/validation.js';
import { MemberRole } from '../members/member.entity.js';
import { ClaimsService } from './claims.service.js';
import { CouponPathParams, CreateEventDto, EventIdParam, EventPathParams, UpdateEventDto, type ClaimStatus, type EventDto, type MemberCouponDto } from './coupons.dto.js';
import { EventsService } from './events.service.js';


function checkIds(eventId: string, couponId: string): void {
  const bad = [
    ...(POSITIVE_ID.test(eventId) ? [] : [{ field: 'eventId', errors: ['eventId must be a positive integer'] }]),
    ...(POSITIVE_ID.test(couponId) ? [] : [{ field: 'couponId', errors: ['couponId must be a positive integer'] }]),
  ];
  if (bad.length > 0) throw new AppError('VALIDATION_FAILED', 'The request is invalid', bad);
}

@ApiTags('admin')
@ApiBearerAuth()
@Roles(MemberRole.ADMIN)
@Controller('api/admin/events')
export class AdminEventsController {
  constructor(private readonly events: EventsService) {}

  @Post()
  create(@Body() body: CreateEventDto): Promise<EventDto> {
    return this.events.create(body);
  }

  @Patch(':id')
  update(@Param() { id }: EventIdParam, @Body() body: UpdateEventDto): Promise<EventDto> {
    return this.events.update(id, body);
  }
}

@ApiTags('coupons')
@Controller('api/events')
export class EventsController {
  constructor(
    private readonly events: EventsService,
    private readonly claims: ClaimsService,
  ) {}

  @Public()
  @Get(':eventId')
  event(@Param() { eventId }: EventPathParams): Promise<EventDto> {
    return this.events.publicEvent(eventId);
  }

  // The hottest route of a rush: ids are checked by a regex here instead of a class-validator
  // DTO (same 400 VALIDATION_FAILED), which is a measurable share of a claim's CPU.
  @ApiBearerAuth()
  @ApiParam({ name: 'eventId' })
  @ApiParam({ name: 'couponId' })
  @Post(':eventId/coupons/:couponId/issue')
  @HttpCode(202)
  async claim(@CurrentMember() member: AuthMember, @Param('eventId') eventId: string, @Param('couponId') couponId: string): Promise<{ status: 'PENDING' }> {
    checkIds(eventId, couponId);
    await this.claims.claim(eventId, couponId, member.id);
    return { status: 'PENDING' };
  }

  @ApiBearerAuth()
  @Get(':eventId/coupons/:couponId/issue')
  async status(@CurrentMember() member: AuthMember, @Param() { eventId, couponId }: CouponPathParams): Promise<{ status: ClaimStatus }> {
    return { status: await this.claims.status(eventId, couponId, member.id) };
  }
}

@ApiTags('coupons')
@ApiBearerAuth()
@Controller('api/members/me/coupons')
export class MemberCouponsController {
  constructor(private readonly claims: ClaimsService) {}

  @Get()
  list(@CurrentMember() member: AuthMember): Promise<MemberCouponDto[]> {
    return this.claims.memberCoupons(member.id);
  }
}
