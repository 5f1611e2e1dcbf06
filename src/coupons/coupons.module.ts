import { BullModule, InjectQueue } from '@nestjs/bull';
import { Module } from '@nestjs/common';
import type { Queue } from 'bull';
import { ReadinessRegistry } from '../common/readiness.js';
import { HotRoutes } from '../http/hot-routes.js';
import { ClaimHotRoute } from './claim-hot-route.js';
import { ClaimSweeper } from './claim-sweeper.js';
import { ClaimsService } from './claims.service.js';
import { CouponBroadcastsController } from './coupon-broadcasts.controller.js';
import { CouponGauges } from './coupon-gauges.js';
import { CouponStock } from './coupon-stock.js';
import { AdminCouponEventsController, CouponEventsController, MemberCouponsController } from './coupons.controller.js';
import { EventStatusService } from './event-status.service.js';
import { CouponEventsService } from './coupon-events.service.js';
import { ISSUANCE_BATCH_QUEUE, ISSUANCE_QUEUE, ISSUANCE_QUEUE_SETTINGS } from './issuance.queue.js';
import { ClaimEnqueuer } from './claim-enqueuer.js';
import { IssuanceProcessor } from './issuance.processor.js';

/** FCFS coupon events: admin writes, the atomic claim, Bull persistence and the sweeper. */
@Module({
  imports: [
    BullModule.registerQueue(
      { name: ISSUANCE_QUEUE, settings: ISSUANCE_QUEUE_SETTINGS },
      { name: ISSUANCE_BATCH_QUEUE, settings: ISSUANCE_QUEUE_SETTINGS },
    ),
  ],
  controllers: [
    AdminCouponEventsController,
    CouponEventsController,
    MemberCouponsController,
    CouponBroadcastsController,
  ],
  providers: [
    CouponStock,
    CouponEventsService,
    ClaimsService,
    ClaimEnqueuer,
    IssuanceProcessor,
    ClaimSweeper,
    CouponGauges,
    EventStatusService,
    ClaimHotRoute,
  ],
  exports: [CouponEventsService],
})
export class CouponsModule {
  constructor(
    @InjectQueue(ISSUANCE_QUEUE) issuance: Queue,
    @InjectQueue(ISSUANCE_BATCH_QUEUE) batches: Queue,
    readiness: ReadinessRegistry,
    hotRoutes: HotRoutes,
    claimRoute: ClaimHotRoute,
  ) {
    // The claim, answered before Nest's pipeline (claim-hot-route.ts).
    hotRoutes.register(claimRoute.route());
    // The claim persistence queues' own Redis connections.
    readiness.register({
      name: 'queue',
      gates: true,
      probe: () => Promise.all([issuance.client.ping(), batches.client.ping()]),
    });
  }
}
