import { applyDecorators, CanActivate, ExecutionContext, Injectable, SetMetadata, UseGuards } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { LIMITS, type LimitCountedBy } from './limits.js';
import { RateLimiters } from './rate-limiters.js';

const THROTTLED = 'pick:throttled';

type GuardLimit = LimitCountedBy<'guard'>;
type ThrottledRequest = FastifyRequest & { member?: { id: string } };

/** How the guard finds each key a guard limit may have (the limits table says which a limit has). */
const KEY_OF: Record<(typeof LIMITS)[GuardLimit]['key'], (request: ThrottledRequest) => string | undefined> = {
  ip: (request) => request.ip,
  // AuthGuard (the global guard) has run first and set it on every route that needs a token.
  member: (request) => request.member?.id,
};

/**
 * Counts each request of the route against a guard limit of the limits table (src/throttle/limits.ts),
 * on the key its row names (client IP or member): 429 TOO_MANY_REQUESTS with Retry-After past it. List
 * 'TOO_MANY_REQUESTS' in the route's @ApiErrors. Logins and claims count their own limits (LoginLimits,
 * ClaimLimits): the type takes only the limits the guard counts.
 */
export const Throttled = (limit: GuardLimit) =>
  applyDecorators(SetMetadata(THROTTLED, limit), UseGuards(ThrottleGuard));

@Injectable()
export class ThrottleGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly limiters: RateLimiters,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const limit = this.reflector.get<GuardLimit | undefined>(THROTTLED, context.getHandler());
    if (!limit) return true;
    const keyKind = LIMITS[limit].key;
    const key = KEY_OF[keyKind](context.switchToHttp().getRequest<ThrottledRequest>());
    if (key) await this.limiters.consume(limit, key);
    // A per-member limit on a @Public route would never count: a mistake, said at its first request.
    else if (keyKind === 'member') throw new Error(`limit ${limit} counts per member; this route has no member`);
    return true;
  }
}
