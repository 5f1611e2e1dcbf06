import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import type { AppConfig } from '../../config/env.js';
import { APP_CONFIG } from '../common/config.module.js';
import { AppError } from '../common/errors.js';
import { redisOptions } from '../redis/redis-options.js';
import type { AccessClaims } from './token-signing.js';

/** Why every session of a member ended: decides the code its old access tokens get. */
export type SessionEndCode = 'SESSION_ENDED' | 'MEMBER_BANNED';

interface MemberCutoff {
  /** Access tokens with a lower `ver` are refused. */
  version: number;
  code: SessionEndCode;
  /** When it was recorded (ms): after the access-token TTL no token it refuses is alive anyway. */
  at: number;
}

const READ_BLOCK_MS = 5_000;
const READ_BATCH = 1_000;
const RETRY_MS = 1_000;
const PRUNE_EVERY_MS = 10_000;
// Server clocks differ a little: keep entries that much longer than the access-token TTL.
const CLOCK_MARGIN_MS = 60_000;

/**
 * Ended sessions, as this worker knows them, checked by AuthGuard on every authenticated request
 * with one or two Map lookups (no I/O: the claim route stays as fast as before).
 *
 * The list lives in a Redis stream (`<prefix>:sessions:ended`): an entry ends every session of a
 * member below a session version (role or seller-approval change, ban, deletion, logout-all), or
 * one session (logout, a replayed refresh token, a session dropped by the per-member cap). Every
 * worker of every server tails the stream with a blocking XREAD on a connection of its own, so an
 * entry reaches every worker within milliseconds, and a worker that lost Redis resumes from the last
 * id it read: nothing is missed, unlike pub/sub. Entries older than the access-token TTL are trimmed
 * from the stream and from memory: every token they could refuse has expired.
 * If Redis is unreachable when a session ends, refresh is still refused (it reads MySQL) and the
 * access tokens die within JWT_ACCESS_TTL_SECONDS: that is the bound without Redis.
 */
@Injectable()
export class SessionRevocations implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(SessionRevocations.name);
  private readonly key: string;
  private readonly keepMs: number;
  private readonly members = new Map<string, MemberCutoff>();
  private readonly sessions = new Map<string, number>();
  private readonly reader: Redis;
  private lastId: string;
  private stopped = false;
  private lastPrune = 0;
  private loop?: Promise<void>;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly redis: Redis,
  ) {
    this.key = `${config.REDIS_PREFIX}:sessions:ended`;
    this.keepMs = config.JWT_ACCESS_TTL_SECONDS * 1000 + CLOCK_MARGIN_MS;
    this.lastId = `${Math.max(0, Date.now() - this.keepMs)}-0`;
    // Its own connection: a blocking XREAD holds it. No command timeout (the block is the wait).
    this.reader = new Redis({
      ...redisOptions(config),
      lazyConnect: true,
      maxRetriesPerRequest: 1,
      connectTimeout: 3000,
      retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
    });
    this.reader.on('error', () => undefined); // reported by the read loop, once per outage
  }

  /** Throws the right 401/403 when the token belongs to an ended session. */
  check(claims: AccessClaims): void {
    const cutoff = this.members.get(claims.sub);
    if (cutoff !== undefined && claims.ver < cutoff.version) {
      throw cutoff.code === 'MEMBER_BANNED'
        ? new AppError('MEMBER_BANNED', 'This account is banned')
        : new AppError('SESSION_ENDED', 'This session has ended; log in again');
    }
    if (claims.sid !== undefined && this.sessions.has(claims.sid))
      throw new AppError('SESSION_ENDED', 'This session has ended; log in again');
  }

  /** Ends every session of the member issued below `version`. */
  async endMember(memberId: string, version: number, code: SessionEndCode): Promise<void> {
    await this.redis.xadd(this.key, 'MINID', '~', this.trimId(), '*', 'm', memberId, 'v', String(version), 'c', code);
  }

  /** Ends these sessions (refresh-token families) only. */
  async endSessions(sessionIds: string[]): Promise<void> {
    if (sessionIds.length === 0) return;
    const pipeline = this.redis.pipeline();
    for (const sid of sessionIds) pipeline.xadd(this.key, 'MINID', '~', this.trimId(), '*', 's', sid);
    const results = await pipeline.exec();
    const failed = results?.find(([error]) => error);
    if (failed) throw failed[0];
  }

  /** Reads what was recorded within the access-token TTL before serving, then follows the stream. */
  async onApplicationBootstrap(): Promise<void> {
    try {
      await this.reader.connect();
      await this.readOnce(0);
    } catch (error) {
      this.logger.warn(`starting without the ended-sessions list (${String(error)}): following it once Redis answers`);
    }
    this.loop = this.follow();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    this.reader.disconnect();
    await this.loop;
  }

  private async follow(): Promise<void> {
    let failing = false;
    while (!this.stopped) {
      try {
        await this.readOnce(READ_BLOCK_MS);
        if (failing) this.logger.log('ended-sessions list: following again');
        failing = false;
      } catch (error) {
        if (this.stopped) return;
        if (!failing)
          this.logger.warn(`ended-sessions list: ${error instanceof Error ? error.message : String(error)}; retrying`);
        failing = true;
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS).unref());
        // A connection closed for good (not merely reconnecting) is opened again; reading resumes at lastId.
        if (this.reader.status === 'end' && !this.stopped) await this.reader.connect().catch(() => undefined);
      }
    }
  }

  /** One XREAD from the last id seen (blocking up to `blockMs`; 0: no wait), then applies it. */
  private async readOnce(blockMs: number): Promise<void> {
    const args: (string | number)[] = ['COUNT', READ_BATCH];
    if (blockMs > 0) args.push('BLOCK', blockMs);
    const result = (await this.reader.call('XREAD', ...args, 'STREAMS', this.key, this.lastId)) as
      [string, [string, string[]][]][] | null;
    for (const [, entries] of result ?? []) {
      for (const [id, fields] of entries) {
        this.apply(id, fields);
        this.lastId = id;
      }
    }
    if (result && result[0]?.[1].length === READ_BATCH) return this.readOnce(0);
    this.prune();
  }

  private apply(id: string, fields: string[]): void {
    const at = Number(id.slice(0, id.indexOf('-')));
    const value = (name: string) => {
      const index = fields.indexOf(name);
      return index >= 0 && index % 2 === 0 ? fields[index + 1] : undefined;
    };
    const sid = value('s');
    if (sid !== undefined) {
      this.sessions.set(sid, at);
      return;
    }
    const memberId = value('m');
    const version = Number(value('v'));
    if (memberId === undefined || !Number.isInteger(version)) return;
    const known = this.members.get(memberId);
    if (known && known.version > version) return;
    this.members.set(memberId, {
      version,
      code: value('c') === 'MEMBER_BANNED' ? 'MEMBER_BANNED' : 'SESSION_ENDED',
      at,
    });
  }

  private prune(): void {
    const now = Date.now();
    if (now - this.lastPrune < PRUNE_EVERY_MS) return;
    this.lastPrune = now;
    const before = now - this.keepMs;
    for (const [memberId, cutoff] of this.members) if (cutoff.at < before) this.members.delete(memberId);
    for (const [sid, at] of this.sessions) if (at < before) this.sessions.delete(sid);
  }

  private trimId(): string {
    return `${Math.max(0, Date.now() - this.keepMs)}-0`;
  }
}
