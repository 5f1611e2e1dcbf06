import { Inject, Injectable } from '@nestjs/common';
import type { AppConfig } from '../../config/env.js';
import { APP_CONFIG } from '../common/config.module.js';
import type { AppError } from '../common/errors.js';
import { configuredLimit, throttleKeyPrefix, type LimitCountedBy } from './limits.js';
import { RateLimiters } from './rate-limiters.js';

const CLAIM: LimitCountedBy<'claim script'> = 'claim';

/** Members refused from memory at most, per worker; past it the expired ones are dropped, then all. */
const BLOCKED_MAX = 100_000;

/**
 * What the claim script counts, in its own round trip: the counter's key (the one RateLimiterRedis
 * would use, so a claim refused before the script counts into the same), and `points` requests per
 * window of `windowMs` (a fixed window: INCR, the expiry set by the window's first request).
 */
export interface ScriptCounter {
  key: string;
  points: number;
  windowMs: number;
}

/**
 * The member's claim limit for one claim: `counter` goes to the claim script (undefined: throttling
 * off, the script counts nothing), and `settle` turns the script's outcome into the answer.
 */
export class ClaimLimit {
  constructor(
    readonly counter: ScriptCounter | undefined,
    private readonly answers: {
      /** The script found the member over the limit with `msLeft` of its window to go: the 429. */
      over: (msLeft: number) => AppError;
      /** The script could not run: the claim counted in this worker's memory; the 429 past the limit. */
      unavailable: () => Promise<AppError | undefined>;
    },
  ) {}

  /**
   * The one way a claim's outcome is settled against the limit: the script's decision, unless `isOver`
   * says the script found the member over it (then the 429, and this worker refuses the member from
   * memory for the window's rest, `retryInMs`); a script that could not run (Redis unavailable) counts
   * the claim in this worker's memory instead (the 429 past the limit, else its own failure, as it was).
   */
  async settle<Decision extends { retryInMs: number }>(
    script: Promise<Decision>,
    isOver: (decision: Decision) => boolean,
  ): Promise<Decision> {
    let decision: Decision;
    try {
      decision = await script;
    } catch (error) {
      const over = this.counter && (await this.answers.unavailable());
      throw over || error;
    }
    if (isOver(decision)) throw this.answers.over(decision.retryInMs);
    return decision;
  }
}

/**
 * The claim limit (the limits table's `countedBy: 'claim script'`): counted by the claim script itself,
 * in the same Redis round trip as the claim's decision (a separate limiter call cost ~20% of a worker's
 * CPU per claim). A member the script found over it is refused from this worker's memory until the
 * window ends, as RateLimiterRedis' inMemoryBlockOnConsumed does for the other limits.
 */
@Injectable()
export class ClaimLimits {
  /** Members seen over the limit -> end of their window (epoch ms). */
  private readonly blocked = new Map<string, number>();
  /** The limit's settings and counter key prefix, read once (a claim rush asks for them thousands a second). */
  private readonly points: number;
  private readonly windowMs: number;
  private readonly keyPrefix: string;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly limiters: RateLimiters,
  ) {
    const { points, windowSeconds } = configuredLimit(config, CLAIM);
    this.points = points;
    this.windowMs = windowSeconds * 1000;
    this.keyPrefix = throttleKeyPrefix(config.REDIS_PREFIX, CLAIM);
  }

  /**
   * The limit for one claim of `memberId`: the 429 at once when this worker already refuses the member
   * (seen over the limit in this window), before anything else is done for the claim.
   */
  begin(memberId: string): ClaimLimit {
    const answers = {
      over: (msLeft: number) => this.refuseFromMemory(memberId, msLeft),
      unavailable: () => this.limiters.countInMemory(CLAIM, memberId),
    };
    if (!this.limiters.enabled) return new ClaimLimit(undefined, answers);
    const until = this.blocked.get(memberId);
    if (until !== undefined) {
      const left = until - Date.now();
      if (left > 0) throw this.limiters.tooMany(CLAIM, left);
      this.blocked.delete(memberId);
    }
    return new ClaimLimit(
      { key: `${this.keyPrefix}:${memberId}`, points: this.points, windowMs: this.windowMs },
      answers,
    );
  }

  /**
   * A claim refused before the claim script (malformed ids, no such coupon, outside its window): counted
   * through the library on the same counter all the same, so past the limit it is a 429 whatever was
   * wrong with the claim.
   */
  countRefused(memberId: string): Promise<void> {
    return this.limiters.consume(CLAIM, memberId);
  }

  /** The script found the member over the limit: refused from this worker's memory for the window's rest. */
  private refuseFromMemory(memberId: string, msLeft: number): AppError {
    if (this.blocked.size >= BLOCKED_MAX) {
      const now = Date.now();
      for (const [blockedMember, until] of this.blocked) if (until <= now) this.blocked.delete(blockedMember);
      if (this.blocked.size >= BLOCKED_MAX) this.blocked.clear();
    }
    this.blocked.set(memberId, Date.now() + msLeft);
    return this.limiters.tooMany(CLAIM, msLeft);
  }
}
