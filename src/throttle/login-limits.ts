import { Inject, Injectable } from '@nestjs/common';
import { Gauge } from 'prom-client';
import type { AppConfig } from '../../config/env.js';
import { APP_CONFIG } from '../common/config.module.js';
import { configuredLimit, type LimitCountedBy } from './limits.js';
import { RateLimiters } from './rate-limiters.js';

/** Each attempt over the login limit adds this much to the hold of its 429 (up to THROTTLE_LOGIN_DELAY_MAX_MS). */
export const LOGIN_DELAY_STEP_MS = 100;

const BY_IP: LimitCountedBy<'login'> = 'loginIp';
const BY_EMAIL: LimitCountedBy<'login'> = 'loginEmail';

const heldGauge = new Gauge({
  name: 'pick_throttle_held_replies',
  help: '429 replies of this worker held back at this moment (THROTTLE_HELD_MAX)',
});

/** What a login's controller does once it knows how the password check went. */
export interface LoginAttempt {
  /** Not a failed guess (success, banned, busy, service down): give back what the attempt counted. */
  refund(): void;
}

/**
 * The login limits (the limits table's `countedBy: 'login'`): failed logins per client IP and per email.
 * An attempt is counted before the password is checked and given back unless it was a wrong password.
 */
@Injectable()
export class LoginLimits {
  private held = 0;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly limiters: RateLimiters,
  ) {}

  /**
   * A login: counted before the password is checked, against its IP, then its email (atomic, so a
   * burst cannot slip past the limit while the first guesses are still hashing), and given back unless
   * it turns out a wrong password: what the limits count is failed logins. Over a limit, the 429 is held
   * for LOGIN_DELAY_STEP_MS per attempt over (up to THROTTLE_LOGIN_DELAY_MAX_MS), no password is hashed.
   */
  async attempt(ip: string, email: string): Promise<LoginAttempt> {
    const emailKey = email.trim().toLowerCase();
    // The email is counted only when the IP is within its limit: someone refused because their shared
    // IP is over does not use up their own email's allowance by retrying.
    const byIp = await this.limiters.take(BY_IP, ip);
    const byEmail = byIp ? undefined : await this.limiters.take(BY_EMAIL, emailKey);
    const over = byIp ?? byEmail;
    if (over) {
      const limit = byIp ? BY_IP : BY_EMAIL;
      // A key this worker already refuses from memory reports no count (0): it has been over a while, full hold.
      const excess =
        over.consumedPoints === 0 ? Infinity : over.consumedPoints - configuredLimit(this.config, limit).points;
      const heldMs = await this.hold(Math.min(this.config.THROTTLE_LOGIN_DELAY_MAX_MS, LOGIN_DELAY_STEP_MS * excess));
      throw this.limiters.tooMany(limit, over.msBeforeNext, heldMs);
    }
    if (!this.limiters.enabled) return { refund: () => undefined };
    return {
      refund: () => {
        this.limiters.reward(BY_IP, ip);
        this.limiters.reward(BY_EMAIL, emailKey);
      },
    };
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
}
