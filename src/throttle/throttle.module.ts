import { Global, Module } from '@nestjs/common';
import { ThrottleGuard } from './throttle.guard.js';
import { Throttle } from './throttle.service.js';

/** Rate limits shared through Redis (README "Throttling"): `@Throttled(limit)` on a route, or `Throttle` itself. */
@Global()
@Module({
  providers: [Throttle, ThrottleGuard],
  exports: [Throttle, ThrottleGuard],
})
export class ThrottleModule {}
