import { Inject, Injectable, Logger } from '@nestjs/common';
import { Redis } from 'ioredis';
import { Counter } from 'prom-client';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, RLWrapperTimeouts } from 'rate-limiter-flexible';
import type { AppConfig } from '../../config/env.js';
import { APP_CONFIG } from '../common/config.module.js';
import { AppError } from '../common/errors.js';
import { configuredLimit, LIMIT_NAMES, throttleKeyPrefix, type LimitName } from './limits.js';

/**
 * Longest a check waits for Redis before it counts in memory instead: a hung Redis (connected, not
 * answering) would otherwise cost the client's whole 2 s command timeout per check, twice for a login.
 */
export const CHECK_TIMEOUT_MS = 1_000;

const throttled = new Counter({
  name: 'pick_throttled_total',
  help: 'Requests answered 429 TOO_MANY_REQUESTS, by limit',
  labelNames: ['limit'],
});
const storeErrors = new Counter({
  name: 'pick_throttle_store_errors_total',
  help: 'Rate-limit checks that could not be made (let through: fail open)',
  labelNames: ['limit'],
});

/**
 * One rate-limiter-flexible limiter per limit of the limits table, shared by every worker of every
 * server: RateLimiterRedis on the app's Redis client (one atomic Lua INCR+EXPIRE per check, fixed
 * windows, keys `<REDIS_PREFIX>:throttle:<limit>:<key>`); a key seen over its limit is then refused
 * from this worker's memory until its window ends (inMemoryBlockOnConsumed). What ThrottleGuard,
 * LoginLimits and ClaimLimits count with, and the one maker of their 429s.
 *
 * Redis unavailable: the client is not "ready" (rejectIfRedisNotReady), a command fails, or no answer
 * within CHECK_TIMEOUT_MS (RLWrapperTimeouts): each limiter falls back to its insurance limiter, the
 * same limit counted in this worker's memory, so abuse is still slowed per worker and nothing waits
 * on Redis for long.
 * Any other failure of a check lets the request through (fail open), never a 500.
 */
@Injectable()
export class RateLimiters {
  private readonly logger = new Logger('Throttle');
  private readonly limiters: Record<LimitName, RLWrapperTimeouts>;
  /** Each limit's insurance: the same limit counted in this worker's memory while Redis fails. */
  private readonly inMemory: Record<LimitName, RateLimiterMemory>;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(Redis) redis: Redis,
  ) {
    const perLimit = <T>(build: (name: LimitName) => T) =>
      Object.fromEntries(LIMIT_NAMES.map((name) => [name, build(name)])) as Record<LimitName, T>;
    this.inMemory = perLimit((name) => {
      const { points, windowSeconds } = configuredLimit(config, name);
      return new RateLimiterMemory({ keyPrefix: name, points, duration: windowSeconds });
    });
    this.limiters = perLimit((name) => {
      const { points, windowSeconds } = configuredLimit(config, name);
      const redisLimiter = new RateLimiterRedis({
        storeClient: redis,
        keyPrefix: throttleKeyPrefix(config.REDIS_PREFIX, name),
        points,
        duration: windowSeconds,
        rejectIfRedisNotReady: true,
        // Once this worker has seen a key over its limit, it answers that key from memory until the
        // window ends: a flood past its limit costs no Redis round trip per request (a claim bot's
        // 2,000 requests: one Redis call per worker past the limit, not 2,000 during the rush).
        inMemoryBlockOnConsumed: points + 1,
        insuranceLimiter: this.inMemory[name],
      });
      // Past CHECK_TIMEOUT_MS the wrapper answers from the same insurance limiter.
      return new RLWrapperTimeouts({ limiter: redisLimiter, timeoutMs: CHECK_TIMEOUT_MS });
    });
  }

  /** THROTTLE_ENABLED: false, nothing is counted anywhere. */
  get enabled(): boolean {
    return this.config.THROTTLE_ENABLED;
  }

  /** Counts one request of `key` (an IP, a member id, an email) against a limit; 429 past it. */
  async consume(limit: LimitName, key: string): Promise<void> {
    const over = await this.take(limit, key);
    if (over) throw this.tooMany(limit, over.msBeforeNext);
  }

  /** The limit's verdict: its state when over, undefined when within it, disabled, or not checkable. */
  async take(limit: LimitName, key: string): Promise<RateLimiterRes | undefined> {
    if (!this.enabled) return undefined;
    try {
      await this.limiters[limit].consume(key);
      return undefined;
    } catch (error) {
      if (error instanceof RateLimiterRes) return error;
      storeErrors.inc({ limit });
      this.logger.warn(`${limit}: check failed, request let through: ${String(error)}`);
      return undefined;
    }
  }

  /** Gives back what a request counted (best effort: a failure is only counted). */
  reward(limit: LimitName, key: string): void {
    this.limiters[limit].reward(key).catch(() => storeErrors.inc({ limit }));
  }

  /**
   * A limit whose counting in Redis failed (Redis unavailable): `key` is counted in this worker's
   * memory instead, as the Redis limiter's insurance does; the 429 when over, else undefined.
   */
  async countInMemory(limit: LimitName, key: string): Promise<AppError | undefined> {
    storeErrors.inc({ limit });
    try {
      await this.inMemory[limit].consume(key);
      return undefined;
    } catch (error) {
      return error instanceof RateLimiterRes ? this.tooMany(limit, error.msBeforeNext) : undefined;
    }
  }

  /** The 429, with Retry-After: the whole seconds (at least 1) left of the window once `heldMs` have passed. */
  tooMany(limit: LimitName, msBeforeNext: number, heldMs = 0): AppError {
    throttled.inc({ limit });
    const retryAfter = Math.max(1, Math.ceil((msBeforeNext - heldMs) / 1000));
    return new AppError(
      'TOO_MANY_REQUESTS',
      'Too many requests; retry after the time in Retry-After',
      undefined,
      retryAfter,
    );
  }
}
