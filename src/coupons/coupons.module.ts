import { BullModule, InjectQueue } from '@nestjs/bull';
import { Module } from '@nestjs/common';
import type { Queue } from 'bull';
import { ReadinessRegistry } from '../common/readiness.js';
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
  providers: [
    CouponStock,
    EventsService,
    ClaimsService,
    IssuanceProcessor,
    ClaimSweeper,
    CouponGauges,
    EventStatusService,
  ],
  exports: [EventsService],
})
export class CouponsModule {
  constructor(@InjectQueue(ISSUANCE_QUEUE) issuance: Queue, readiness: ReadinessRegistry) {
    // The claim persistence queue's own Redis connection.
    readiness.register({ name: 'queue', gates: true, probe: () => issuance.client.ping() });
  }
}
