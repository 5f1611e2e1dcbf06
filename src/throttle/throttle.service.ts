import { Inject, Injectable, Logger } from '@nestjs/common';
import { Redis } from 'ioredis';
import { Counter, Gauge } from 'prom-client';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, RLWrapperTimeouts } from 'rate-limiter-flexible';
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

/**
 * Longest a check waits for Redis before it counts in memory instead: a hung Redis (connected, not
 * answering) would otherwise cost the client's whole 2 s command timeout per check, twice for a login.
 */
export const CHECK_TIMEOUT_MS = 1_000;

/** Each attempt over the login limit adds this much to the hold of its 429 (up to THROTTLE_LOGIN_DELAY_MAX_MS). */
export const LOGIN_DELAY_STEP_MS = 100;

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
const heldGauge = new Gauge({
  name: 'pick_throttle_held_replies',
  help: '429 replies of this worker held back at this moment (THROTTLE_HELD_MAX)',
});

/**
 * A limit counted by its caller's own Redis script, in the same round trip as the caller's work (the
 * claim script): the counter's key, and `points` requests per window of `windowMs`.
 */
export interface ScriptLimit {
  key: string;
  points: number;
  windowMs: number;
}

/** Keys refused from memory at most, per worker; past it the expired ones are dropped, then all. */
const BLOCKED_KEYS_MAX = 100_000;

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
 * Redis unavailable: the client is not "ready" (rejectIfRedisNotReady), a command fails, or no answer
 * within CHECK_TIMEOUT_MS (RLWrapperTimeouts): each limiter falls back to its insurance limiter, the
 * same limit counted in this worker's memory, so abuse is still slowed per worker and nothing waits
 * on Redis for long.
 * Any other failure of a check lets the request through (fail open), never a 500.
 */
@Injectable()
export class Throttle {
  private readonly logger = new Logger('Throttle');
  private readonly limiters: Record<LimitName, RLWrapperTimeouts>;
  /** Each limit's insurance: the same limit counted in this worker's memory while Redis fails. */
  private readonly inMemory: Record<LimitName, RateLimiterMemory>;
  /** Script-counted keys seen over their limit -> end of their window (epoch ms): refused from memory. */
  private readonly blocked = new Map<string, number>();
  private held = 0;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(Redis) redis: Redis,
  ) {
    this.inMemory = Object.fromEntries(
      Object.keys(SETTINGS).map((name) => {
        const [points, duration] = this.settings(name as LimitName);
        return [name, new RateLimiterMemory({ keyPrefix: name, points, duration })];
      }),
    ) as Record<LimitName, RateLimiterMemory>;
    const build = (name: LimitName): RLWrapperTimeouts => {
      const [points, duration] = this.settings(name);
      const redisLimiter = new RateLimiterRedis({
        storeClient: redis,
        keyPrefix: throttleKeyPrefix(config.REDIS_PREFIX, name),
        points,
        duration,
        rejectIfRedisNotReady: true,
        // Once this worker has seen a key over its limit, it answers that key from memory until the
        // window ends: a flood past its limit costs no Redis round trip per request (a claim bot's
        // 2,000 requests: one Redis call per worker past the limit, not 2,000 during the rush).
        inMemoryBlockOnConsumed: points + 1,
        insuranceLimiter: this.inMemory[name],
      });
      // Past CHECK_TIMEOUT_MS the wrapper answers from the same insurance limiter.
      return new RLWrapperTimeouts({ limiter: redisLimiter, timeoutMs: CHECK_TIMEOUT_MS });
    };
    this.limiters = Object.fromEntries(Object.keys(SETTINGS).map((name) => [name, build(name as LimitName)])) as Record<
      LimitName,
      RLWrapperTimeouts
    >;
  }

  /**
   * For a limit its caller counts in its own Redis script (the claim, in the claim script: one round
   * trip for both): where and how to count `key`, on the key and window RateLimiterRedis would use.
   * undefined when throttling is off. Throws the 429 at once when this worker already refuses `key`
   * from memory (seen over its limit in this window), as RateLimiterRedis' inMemoryBlockOnConsumed does.
   */
  scriptLimit(limit: LimitName, key: string): ScriptLimit | undefined {
    if (!this.config.THROTTLE_ENABLED) return undefined;
    const until = this.blocked.get(`${limit}:${key}`);
    if (until !== undefined) {
      const left = until - Date.now();
      if (left > 0) throw this.tooMany(limit, left);
      this.blocked.delete(`${limit}:${key}`);
    }
    const [points, duration] = this.settings(limit);
    return { key: `${throttleKeyPrefix(this.config.REDIS_PREFIX, limit)}:${key}`, points, windowMs: duration * 1000 };
  }

  /** The caller's script found `key` over its limit with `msLeft` of the window to go: the 429, refused from memory until then. */
  scriptOver(limit: LimitName, key: string, msLeft: number): AppError {
    if (this.blocked.size >= BLOCKED_KEYS_MAX) {
      const now = Date.now();
      for (const [blockedKey, until] of this.blocked) if (until <= now) this.blocked.delete(blockedKey);
      if (this.blocked.size >= BLOCKED_KEYS_MAX) this.blocked.clear();
    }
    this.blocked.set(`${limit}:${key}`, Date.now() + msLeft);
    return this.tooMany(limit, msLeft);
  }

  /**
   * The caller's script could not run (Redis unavailable): `key` is counted in this worker's memory,
   * as RateLimiterRedis' insurance limiter does; the 429 when over, else undefined (the caller
   * answers its own failure).
   */
  async scriptFailed(limit: LimitName, key: string): Promise<AppError | undefined> {
    if (!this.config.THROTTLE_ENABLED) return undefined;
    storeErrors.inc({ limit });
    try {
      await this.inMemory[limit].consume(key);
      return undefined;
    } catch (error) {
      return error instanceof RateLimiterRes ? this.tooMany(limit, error.msBeforeNext) : undefined;
    }
  }

  /** Counts one request of `key` (an IP or a member id) against a limit; 429 past it. */
  async consume(limit: LimitName, key: string): Promise<void> {
    const over = await this.take(limit, key);
    if (over) throw this.tooMany(limit, over.msBeforeNext);
  }

  /**
   * A login: counted before the password is checked, against its IP, then its email (atomic, so a
   * burst cannot slip past the limit while the first guesses are still hashing), and given back unless
   * it turns out a wrong password: what the limits count is failed logins. Over a limit, the 429 is held
   * for LOGIN_DELAY_STEP_MS per attempt over (up to THROTTLE_LOGIN_DELAY_MAX_MS), no password is hashed.
   */
  async loginAttempt(ip: string, email: string): Promise<LoginAttempt> {
    const emailKey = email.trim().toLowerCase();
    // The email is counted only when the IP is within its limit: someone refused because their shared
    // IP is over does not use up their own email's allowance by retrying.
    const byIp = await this.take('loginIp', ip);
    const byEmail = byIp ? undefined : await this.take('loginEmail', emailKey);
    const over = byIp ?? byEmail;
    if (over) {
      const limit = byIp ? 'loginIp' : 'loginEmail';
      // A key this worker already refuses from memory reports no count (0): it has been over a while, full hold.
      const excess =
        over.consumedPoints === 0
          ? Infinity
          : over.consumedPoints - (byIp ? this.config.THROTTLE_LOGIN_IP_LIMIT : this.config.THROTTLE_LOGIN_EMAIL_LIMIT);
      const heldMs = await this.hold(Math.min(this.config.THROTTLE_LOGIN_DELAY_MAX_MS, LOGIN_DELAY_STEP_MS * excess));
      throw this.tooMany(limit, over.msBeforeNext, heldMs);
    }
    if (!this.config.THROTTLE_ENABLED) return { refund: () => undefined };
    return {
      refund: () => {
        for (const [limit, key] of [
          ['loginIp', ip],
          ['loginEmail', emailKey],
        ] as const) {
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

  private settings(limit: LimitName): [points: number, durationSeconds: number] {
    const [points, duration] = SETTINGS[limit];
    return [this.config[points] as number, this.config[duration] as number];
  }

  private tooMany(limit: LimitName, msBeforeNext: number, heldMs = 0): AppError {
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
