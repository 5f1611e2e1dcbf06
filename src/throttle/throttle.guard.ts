import { applyDecorators, CanActivate, ExecutionContext, Injectable, SetMetadata, UseGuards } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { Throttle, type LimitName } from './throttle.service.js';

const THROTTLED = 'pick:throttled';

/** Limits counted per member (the route needs a token; AuthGuard, the global guard, has run first). */
const PER_MEMBER = new Set<LimitName>(['productWrite', 'upload']);

/**
 * Counts each request of the route against a limit (per member or per client IP, see PER_MEMBER):
 * 429 TOO_MANY_REQUESTS with Retry-After past it. List 'TOO_MANY_REQUESTS' in the route's @ApiErrors.
 * (Logins count in the auth controller, claims in the claim script: Throttle.loginAttempt, scriptLimit.)
 */
export const Throttled = (limit: Exclude<LimitName, 'loginEmail' | 'loginIp' | 'claim'>) =>
  applyDecorators(SetMetadata(THROTTLED, limit), UseGuards(ThrottleGuard));

@Injectable()
export class ThrottleGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly throttle: Throttle,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const limit = this.reflector.get<LimitName | undefined>(THROTTLED, context.getHandler());
    if (!limit) return true;
    const request = context.switchToHttp().getRequest<FastifyRequest & { member?: { id: string } }>();
    const key = PER_MEMBER.has(limit) ? request.member?.id : request.ip;
    if (key) await this.throttle.consume(limit, key);
    return true;
  }
}
