import { Injectable } from '@nestjs/common';
import { AccessTokens } from '../auth/access-tokens.js';
import { AppError } from '../common/errors.js';
import { POSITIVE_ID } from '../common/validation.js';
import type { HotAnswer, HotRequest, HotRoute } from '../http/hot-routes.js';
import { ClaimsService } from './claims.service.js';

/** The claim, as CouponEventsController registers it with Fastify. */
const CLAIM_ROUTE = '/api/events/:eventId/coupons/:couponId/issue';
const ACCEPTED: HotAnswer = {
  status: 202,
  headers: { 'content-type': 'application/json; charset=utf-8' },
  body: JSON.stringify({ status: 'PENDING' }),
};

/** Path ids that are not positive integers: 400 VALIDATION_FAILED naming each (the controller's and the hot route's rule). */
export function claimIdsError(eventId: string, couponId: string): AppError | undefined {
  const bad = [
    ...(POSITIVE_ID.test(eventId) ? [] : [{ field: 'eventId', errors: ['eventId must be a positive integer'] }]),
    ...(POSITIVE_ID.test(couponId) ? [] : [{ field: 'couponId', errors: ['couponId must be a positive integer'] }]),
  ];
  return bad.length > 0 ? new AppError('VALIDATION_FAILED', 'The request is invalid', bad) : undefined;
}

/**
 * The claim as a hot route (src/http/hot-routes.ts): a rush is thousands of these a second, and Nest's
 * pipeline around them (the global guards, the pipes, the handler's invocation, the exception filter,
 * serialization) cost about as much worker CPU as the claim's own work. Answered here with exactly what
 * the controller does: the access token (AccessTokens, as AuthGuard checks it), the ids (counted against
 * the claim limit when malformed), ClaimsService.claim, 202 {status: PENDING}; errors through the one
 * error renderer (code, Retry-After, request id), the access log and metrics as every request.
 * Left to the controller: anything but the plain claim, a query string or a body (the hot lane takes no
 * request with a body; both are refused there by the undeclared-query guard and the body rules).
 */
@Injectable()
export class ClaimHotRoute {
  constructor(
    private readonly tokens: AccessTokens,
    private readonly claims: ClaimsService,
  ) {}

  route(): HotRoute {
    return { method: 'POST', url: CLAIM_ROUTE, answer: (request) => this.answer(request) };
  }

  private async answer(request: HotRequest): Promise<HotAnswer | undefined> {
    if (request.hasQuery) return undefined;
    const member = this.tokens.memberOf(request.headers.authorization);
    const { eventId = '', couponId = '' } = request.params;
    const malformed = claimIdsError(eventId, couponId);
    // Counted against the member's claim limit all the same: past it, 429 whatever the ids.
    if (malformed) await this.claims.refuse(member.id, malformed);
    await this.claims.claim(eventId, couponId, member.id);
    return ACCEPTED;
  }
}
