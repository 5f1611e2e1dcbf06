import { BullModule } from '@nestjs/bull';
import { Module } from '@nestjs/common';
import { ClaimSweeper } from './claim-sweeper.js';
import { ClaimsService } from './claims.service.js';
import { CouponEventsController } from './coupon-events.controller.js';
import { CouponGauges } from './coupon-gauges.js';
import { CouponStock } from './coupon-stock.js';
import { AdminEventsController, EventsController, MemberCouponsController } from './coupons.controller.js';
import { EventStatusService } from './event-status.service.js';
import { EventsService } from './events.service.js';
import { ISSUANCE_QUEUE, ISSUANCE_QUEUE_SETTINGS } from './issuance.queue.js';
import { IssuanceProcessor } from './issuance.processor.js';

/** FCFS coupon events: admin writes, the atomic claim, Bull persistence and the sweeper. */
@Module({
  imports: [BullModule.registerQueue({ name: ISSUANCE_QUEUE, settings: ISSUANCE_QUEUE_SETTINGS })],
  controllers: [AdminEventsController, EventsController, MemberCouponsController, CouponEventsController],
  providers: [CouponStock, EventsService, ClaimsService, IssuanceProcessor, ClaimSweeper, CouponGauges, EventStatusService],
  // The queue is exported for /health/ready.
  exports: [EventsService, BullModule],
})
export class CouponsModule {}
