import { Inject, Injectable, Logger } from '@nestjs/common';
import { Redis } from 'ioredis';
import { Counter, Gauge } from 'prom-client';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { AppConfig } from '../../config/env.js';
import { APP_CONFIG } from '../common/config.module.js';
import { AppError } from '../common/errors.js';

/** The limits (README "Throttling"; values from THROTTLE_* in config/env.ts). */
export type LimitName = 'loginEmail' | 'loginIp' | 'signup' | 'refresh' | 'claim' | 'productWrite' | 'upload';

const SETTINGS = {
  loginEmail: ['THROTTLE_LOGIN_EMAIL_LIMIT', 'THROTTLE_LOGIN_EMAIL_WINDOW_SECONDS'],
  loginIp: ['THROTTLE_LOGIN_IP_LIMIT', 'THROTTLE_LOGIN_IP_WINDOW_SECONDS'],
  signup: ['THROTTLE_SIGNUP_IP_LIMIT', 'THROTTLE_SIGNUP_IP_WINDOW_SECONDS'],
  refresh: ['THROTTLE_REFRESH_IP_LIMIT', 'THROTTLE_REFRESH_IP_WINDOW_SECONDS'],
  claim: ['THROTTLE_CLAIM_MEMBER_LIMIT', 'THROTTLE_CLAIM_MEMBER_WINDOW_SECONDS'],
  productWrite: ['THROTTLE_PRODUCT_WRITE_MEMBER_LIMIT', 'THROTTLE_PRODUCT_WRITE_MEMBER_WINDOW_SECONDS'],
  upload: ['THROTTLE_UPLOAD_MEMBER_LIMIT', 'THROTTLE_UPLOAD_MEMBER_WINDOW_SECONDS'],
} as const satisfies Record<LimitName, readonly [keyof AppConfig, keyof AppConfig]>;

/** Where a limit keeps its counters: `<REDIS_PREFIX>:throttle:<limit>:<key>` (the value: requests counted in the window). */
export const throttleKeyPrefix = (redisPrefix: string, limit: LimitName) => `${redisPrefix}:throttle:${limit}`;

/** Each attempt over the login limit adds this much to the hold of its 429 (up to THROTTLE_LOGIN_DELAY_MAX_MS). */
export const LOGIN_DELAY_STEP_MS = 100;

const throttled = new Counter({ name: 'pick_throttled_total', help: 'Requests answered 429 TOO_MANY_REQUESTS, by limit', labelNames: ['limit'] });
const storeErrors = new Counter({ name: 'pick_throttle_store_errors_total', help: 'Rate-limit checks that could not be made (let through: fail open)', labelNames: ['limit'] });
const heldGauge = new Gauge({ name: 'pick_throttle_held_replies', help: '429 replies of this worker held back at this moment (THROTTLE_HELD_MAX)' });

/** What a login's controller does once it knows how the password check went. */
export interface LoginAttempt {
  /** Not a failed guess (success, banned, busy, service down): give back what the attempt counted. */
  refund(): void;
}

/**
 * Rate limits shared by every worker of every server: rate-limiter-flexible's RateLimiterRedis on the
 * app's Redis client (one atomic Lua INCR+EXPIRE per check, fixed windows, keys
 * `<REDIS_PREFIX>:throttle:<limit>:<key>`); a key seen over its limit is then refused from this worker's
 * memory until its window ends (inMemoryBlockOnConsumed).
 *
 * Redis unavailable: the client is not "ready" (rejectIfRedisNotReady) or a command fails or times out
 * (the client's 2 s commandTimeout): each limiter falls back to its insurance limiter, the same limit
 * counted in this worker's memory, so abuse is still slowed per worker and nothing waits on Redis.
 * Any other failure of a check lets the request through (fail open), never a 500.
 */
@Injectable()
export class Throttle {
  private readonly logger = new Logger('Throttle');
  private readonly limiters: Record<LimitName, RateLimiterRedis>;
  private held = 0;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(Redis) redis: Redis,
  ) {
    const build = (name: LimitName): RateLimiterRedis => {
      const [points, duration] = SETTINGS[name].map((key) => config[key] as number);
      return new RateLimiterRedis({
        storeClient: redis,
        keyPrefix: throttleKeyPrefix(config.REDIS_PREFIX, name),
        points,
        duration,
        rejectIfRedisNotReady: true,
        // Once this worker has seen a key over its limit, it answers that key from memory until the
        // window ends: a flood past its limit costs no Redis round trip per request (a claim bot's
        // 2,000 requests: one Redis call per worker past the limit, not 2,000 during the rush).
        inMemoryBlockOnConsumed: points + 1,
        insuranceLimiter: new RateLimiterMemory({ keyPrefix: name, points, duration }),
      });
    };
    this.limiters = Object.fromEntries(Object.keys(SETTINGS).map((name) => [name, build(name as LimitName)])) as Record<LimitName, RateLimiterRedis>;
  }

  /** Counts one request of `key` (an IP or a member id) against a limit; 429 past it. */
  async consume(limit: LimitName, key: string): Promise<void> {
    const over = await this.take(limit, key);
    if (over) throw this.tooMany(limit, over);
  }

  /**
   * A login: counted before the password is checked, against both its IP and its email (atomic, so a
   * burst cannot slip past the limit while the first guesses are still hashing), and given back unless
   * it turns out a wrong password: what the limits count is failed logins. Over a limit, the 429 is held
   * for LOGIN_DELAY_STEP_MS per attempt over (up to THROTTLE_LOGIN_DELAY_MAX_MS), no password is hashed.
   */
  async loginAttempt(ip: string, email: string): Promise<LoginAttempt> {
    const emailKey = email.trim().toLowerCase();
    const [byIp, byEmail] = await Promise.all([this.take('loginIp', ip), this.take('loginEmail', emailKey)]);
    const over = [byIp, byEmail].filter((res) => res !== undefined).sort((a, b) => b.msBeforeNext - a.msBeforeNext)[0];
    if (over) {
      // A key this worker already blocks in memory reports no count (0): it has been over for a while, full hold.
      const excessOf = (res: RateLimiterRes | undefined, limit: number) => (res === undefined ? 0 : res.consumedPoints === 0 ? Infinity : res.consumedPoints - limit);
      const excess = Math.max(excessOf(byIp, this.config.THROTTLE_LOGIN_IP_LIMIT), excessOf(byEmail, this.config.THROTTLE_LOGIN_EMAIL_LIMIT));
      const heldMs = await this.hold(Math.min(this.config.THROTTLE_LOGIN_DELAY_MAX_MS, LOGIN_DELAY_STEP_MS * excess));
      throw this.tooMany(byEmail ? 'loginEmail' : 'loginIp', over, heldMs);
    }
    if (!this.config.THROTTLE_ENABLED) return { refund: () => undefined };
    return {
      refund: () => {
        for (const [limit, key] of [['loginIp', ip], ['loginEmail', emailKey]] as const) {
          this.limiters[limit].reward(key).catch(() => storeErrors.inc({ limit }));
        }
      },
    };
  }

  /** The limit's verdict: its state when over, undefined when within it, disabled, or not checkable. */
  private async take(limit: LimitName, key: string): Promise<RateLimiterRes | undefined> {
    if (!this.config.THROTTLE_ENABLED) return undefined;
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

  /**
   * Holds a 429 reply back for `ms`: a client that waits for each answer slows itself down. At most
   * THROTTLE_HELD_MAX replies are held per worker at once (each is an open socket); beyond, at once.
   */
  private async hold(ms: number): Promise<number> {
    if (ms <= 0 || this.held >= this.config.THROTTLE_HELD_MAX) return 0;
    this.held++;
    heldGauge.set(this.held);
    try {
      await new Promise((resolve) => setTimeout(resolve, ms));
      return ms;
    } finally {
      this.held--;
      heldGauge.set(this.held);
    }
  }

  private tooMany(limit: LimitName, res: RateLimiterRes, heldMs = 0): AppError {
    throttled.inc({ limit });
    const retryAfter = Math.max(1, Math.ceil((res.msBeforeNext - heldMs) / 1000));
    return new AppError('TOO_MANY_REQUESTS', 'Too many requests; retry after the time in Retry-After', undefined, retryAfter);
  }
}
