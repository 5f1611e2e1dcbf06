import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { BroadcastEvents, type CouponChangedEvent } from '../common/broadcast.js';
import { EventsService } from './events.service.js';

/** Broadcasts from every worker of every server (Redis transport), the sender included. */
@Controller()
export class CouponEventsController {
  constructor(private readonly events: EventsService) {}

  @EventPattern(BroadcastEvents.COUPON_CHANGED)
  onCouponChanged(@Payload() message: CouponChangedEvent): Promise<void> {
    return this.events.onCouponChanged(message);
  }
}
