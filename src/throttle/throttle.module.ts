import { Global, Module } from '@nestjs/common';
import { ClaimLimits } from './claim-limit.js';
import { LoginLimits } from './login-limits.js';
import { RateLimiters } from './rate-limiters.js';
import { ThrottleGuard } from './throttle.guard.js';

/**
 * Rate limits shared through Redis (README "Throttling"; every limit in src/throttle/limits.ts):
 * `@Throttled(limit)` on a route, LoginLimits for the login, ClaimLimits for the claim.
 */
@Global()
@Module({
  providers: [RateLimiters, LoginLimits, ClaimLimits, ThrottleGuard],
  exports: [RateLimiters, LoginLimits, ClaimLimits, ThrottleGuard],
})
export class ThrottleModule {}
