import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { Broadcasts, type CouponChangedMessage } from '../common/broadcast.js';
import { CouponEventsService } from './coupon-events.service.js';

/** Broadcasts from every worker of every server (Redis transport), the sender included. */
@Controller()
export class CouponBroadcastsController {
  constructor(private readonly events: CouponEventsService) {}

  @EventPattern(Broadcasts.COUPON_CHANGED)
  onCouponChanged(@Payload() message: CouponChangedMessage): Promise<void> {
    return this.events.onCouponChanged(message);
  }
}
