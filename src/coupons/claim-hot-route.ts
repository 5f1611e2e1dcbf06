import { Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AccessTokens } from '../auth/access-tokens.js';
import { AppError } from '../common/errors.js';
import { POSITIVE_ID } from '../common/validation.js';
import type { HotRoute } from '../http/hot-routes.js';
import { ClaimsService } from './claims.service.js';

/** The claim, as CouponEventsController registers it with Fastify. */
const CLAIM_ROUTE = '/api/events/:eventId/coupons/:couponId/issue';
const ACCEPTED = JSON.stringify({ status: 'PENDING' });
const JSON_TYPE = 'application/json; charset=utf-8';

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
 * Left to the controller: anything but the plain claim, a query string or a body (refused there by the
 * undeclared-query guard and the body rules, as before).
 */
@Injectable()
export class ClaimHotRoute {
  constructor(
    private readonly tokens: AccessTokens,
    private readonly claims: ClaimsService,
  ) {}

  route(): HotRoute {
    return { method: 'POST', url: CLAIM_ROUTE, answer: (request, reply) => this.answer(request, reply) };
  }

  private async answer(request: FastifyRequest, reply: FastifyReply): Promise<boolean> {
    if (request.url.includes('?') || hasBody(request)) return false;
    const member = this.tokens.memberOf(request.headers.authorization);
    const { eventId, couponId } = request.params as { eventId: string; couponId: string };
    const malformed = claimIdsError(eventId, couponId);
    // Counted against the member's claim limit all the same: past it, 429 whatever the ids.
    if (malformed) await this.claims.refuse(member.id, malformed);
    await this.claims.claim(eventId, couponId, member.id);
    void reply.code(202).header('content-type', JSON_TYPE).send(ACCEPTED);
    return true;
  }
}

function hasBody(request: FastifyRequest): boolean {
  const length = request.headers['content-length'];
  return (length !== undefined && length !== '0') || request.headers['transfer-encoding'] !== undefined;
}
