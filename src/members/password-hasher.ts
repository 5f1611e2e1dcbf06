import { Algorithm, hash, verify, type Options } from '@node-rs/argon2';
import pLimit, { type LimitFunction } from 'p-limit';
import { Counter } from 'prom-client';
import type { AppConfig } from '../../config/env.js';
import { AppError } from '../common/errors.js';

type HashingConfig = Pick<
  AppConfig,
  | 'PASSWORD_HASH_MEMORY_KIB'
  | 'PASSWORD_HASH_TIME_COST'
  | 'PASSWORD_HASH_PARALLELISM'
  | 'PASSWORD_HASH_CONCURRENCY'
  | 'PASSWORD_HASH_QUEUE'
  | 'PASSWORD_HASH_MAX_WAIT_MS'
>;

/** The argon2id parameters of new hashes: one place for the app and every CLI command. */
export function passwordHashOptions(config: HashingConfig): Options {
  return {
    algorithm: Algorithm.Argon2id,
    memoryCost: config.PASSWORD_HASH_MEMORY_KIB,
    timeCost: config.PASSWORD_HASH_TIME_COST,
    parallelism: config.PASSWORD_HASH_PARALLELISM,
  };
}

const refused = new Counter({
  name: 'pick_password_hash_refused_total',
  help: 'Password hashes/verifications refused with 503 AUTH_BUSY (queue full or waited too long)',
  labelNames: ['reason'],
});

// A second is enough for a short queue to drain (a hash costs ~20-50 ms on one core).
const RETRY_AFTER_SECONDS = 1;

/**
 * Hashes and verifies passwords (argon2id, `$argon2id$v=19$...` PHC strings, the format argon2 0.45
 * stored) under this process's CPU guard. Each hash runs on a libuv pool thread (a napi async
 * task) and keeps a core busy for its whole run, so at most PASSWORD_HASH_CONCURRENCY run at once,
 * PASSWORD_HASH_QUEUE more may wait, and one that waited longer than PASSWORD_HASH_MAX_WAIT_MS is
 * refused before it starts. Past that the caller gets 503 AUTH_BUSY with Retry-After at once,
 * so a login flood costs a few cores' share, never the catalog's event loop or all pool threads.
 */
export class PasswordHasher {
  private readonly options: Options;
  private readonly limit: LimitFunction;

  constructor(private readonly config: HashingConfig) {
    this.options = passwordHashOptions(config);
    this.limit = pLimit(config.PASSWORD_HASH_CONCURRENCY);
  }

  hash(password: string): Promise<string> {
    return this.guarded(() => hash(password, this.options));
  }

  /** false for a wrong password and for a malformed stored hash (never throws for those). */
  verify(stored: string, password: string): Promise<boolean> {
    return this.guarded(() => verify(stored, password).catch(() => false));
  }

  /** Hashes running and waiting in this process (for tests and diagnostics). */
  get load(): { active: number; waiting: number } {
    return { active: this.limit.activeCount, waiting: this.limit.pendingCount };
  }

  private guarded<T>(work: () => Promise<T>): Promise<T> {
    const {
      PASSWORD_HASH_CONCURRENCY: running,
      PASSWORD_HASH_QUEUE: queue,
      PASSWORD_HASH_MAX_WAIT_MS: maxWait,
    } = this.config;
    const ahead = this.limit.activeCount + this.limit.pendingCount;
    if (ahead >= running + queue) return Promise.reject(busy('queue_full'));
    const queuedAt = ahead >= running ? performance.now() : undefined;
    return this.limit(() => {
      // The client has waited long enough: shed the work rather than add to the backlog.
      if (queuedAt !== undefined && performance.now() - queuedAt > maxWait) throw busy('waited_too_long');
      return work();
    });
  }
}

function busy(reason: 'queue_full' | 'waited_too_long'): AppError {
  refused.inc({ reason });
  return new AppError(
    'AUTH_BUSY',
    'Too many logins at once on this server; retry shortly',
    undefined,
    RETRY_AFTER_SECONDS,
  );
}
