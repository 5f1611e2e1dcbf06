import { EntityManager, LockMode } from '@mikro-orm/mysql';
import { Inject, Injectable } from '@nestjs/common';
import { TokenExpiredError } from '@nestjs/jwt';
import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import type { AppConfig } from '../../config/env.js';
import { APP_CONFIG } from '../common/config.module.js';
import { AppError } from '../common/errors.js';
import { Member } from '../members/member.entity.js';
import { LuaScript } from '../redis/lua-script.js';
import { SessionRevocations, type SessionEndCode } from './session-revocations.js';
import { type RefreshClaims, tokenSubject, TokenSigning, type TokenSubject } from './token-signing.js';

/** A verified refresh token; `sid` is absent in tokens issued before sessions had families. */
type PresentedRefresh = Omit<RefreshClaims, 'sid' | 'typ'> & { sid?: string };

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
}

// A member's sessions are one Redis hash, `<prefix>:sessions:<memberId>`: field = session id (the
// refresh-token family), value = "<current jti>|<started ms>|<absolute end ms>|<idle end ms>".
// Each script works on that one key, atomically.

/** Opens a session: drops expired ones, then the oldest while at the cap; returns the dropped ids. */
const sessionOpen = new LuaScript({
  name: 'sessionOpen',
  keys: ['sessions'],
  args: ['sessionId', 'newJti', 'nowMs', 'endsMs', 'idleMs', 'sessionsMax'],
  lua: `
local now = tonumber(nowMs)
local cap = tonumber(sessionsMax)
local live = {}
local fields = redis.call('HGETALL', sessions)
for i = 1, #fields, 2 do
  local jti, started, ends, idle = string.match(fields[i + 1], '^([^|]*)|(%d+)|(%d+)|(%d+)$')
  if not jti or tonumber(ends) <= now or tonumber(idle) <= now then
    redis.call('HDEL', sessions, fields[i])
  else
    live[#live + 1] = { fields[i], tonumber(started), tonumber(ends) }
  end
end
table.sort(live, function(a, b) return a[2] < b[2] end)
local dropped = {}
while #live >= cap do
  local oldest = table.remove(live, 1)
  redis.call('HDEL', sessions, oldest[1])
  dropped[#dropped + 1] = oldest[1]
end
redis.call('HSET', sessions, sessionId, newJti .. '|' .. nowMs .. '|' .. endsMs .. '|' .. idleMs)
local last = tonumber(endsMs)
for _, session in ipairs(live) do if session[3] > last then last = session[3] end end
redis.call('PEXPIREAT', sessions, last)
return dropped`,
  reply: (dropped: string[]) => dropped,
});

/** What rotating a refresh token found (`local OK = 'OK'` … in the script). */
const Rotation = { OK: 'OK', REVOKED: 'REVOKED', EXPIRED: 'EXPIRED', REUSED: 'REUSED' } as const;

/**
 * Rotates the refresh token of one session. The presented jti must be the session's current one:
 * an older one means the token was replayed after a rotation (stolen, or sent twice), and the whole
 * session ends, so whoever rotated first (thief or victim) is cut as well.
 */
const sessionRotate = new LuaScript({
  name: 'sessionRotate',
  keys: ['sessions'],
  args: ['sessionId', 'presentedJti', 'newJti', 'nowMs', 'idleMs'],
  codes: Rotation,
  lua: `
local value = redis.call('HGET', sessions, sessionId)
if not value then return { REVOKED } end
local now = tonumber(nowMs)
local jti, started, ends, idle = string.match(value, '^([^|]*)|(%d+)|(%d+)|(%d+)$')
if not jti or tonumber(ends) <= now or tonumber(idle) <= now then
  redis.call('HDEL', sessions, sessionId)
  return { EXPIRED }
end
if jti ~= presentedJti then
  redis.call('HDEL', sessions, sessionId)
  return { REUSED }
end
local nextIdle = math.min(tonumber(idleMs), tonumber(ends))
redis.call('HSET', sessions, sessionId, newJti .. '|' .. started .. '|' .. ends .. '|' .. nextIdle)
return { OK, ends, tostring(nextIdle) }`,
  /** the outcome, and with OK the session's next idle end (ms) */
  reply: ([outcome, , nextIdle]: [string, string?, string?]) => ({ outcome, nextIdle: Number(nextIdle) }),
});

/**
 * Sessions: a login opens one (a refresh-token family with an absolute lifetime), each refresh
 * rotates its token, and a session ends on logout, on a replayed token, when the member's cap
 * drops it, or with every other session of the member (logout-all, and the admin changes that
 * bump the member's session version). Ended sessions are refused at refresh here (Redis + the
 * member read from MySQL) and on every request by AuthGuard (SessionRevocations).
 */
@Injectable()
export class SessionsService {
  constructor(
    private readonly signing: TokenSigning,
    private readonly revocations: SessionRevocations,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly redis: Redis,
    private readonly em: EntityManager,
  ) {
    sessionOpen.define(redis);
    sessionRotate.define(redis);
  }

  /** Login: a new session for a member whose password was just verified. */
  async open(member: Member): Promise<TokenPair> {
    this.assertMaySignIn(member);
    const subject = tokenSubject(member);
    const sid = randomUUID();
    const jti = randomUUID();
    const now = Date.now();
    const ends = now + this.config.SESSION_MAX_AGE_SECONDS * 1000;
    const idle = Math.min(now + this.config.JWT_REFRESH_TTL_SECONDS * 1000, ends);
    const dropped = await sessionOpen.run(this.redis, {
      sessions: this.key(subject.id),
      sessionId: sid,
      newJti: jti,
      nowMs: now,
      endsMs: ends,
      idleMs: idle,
      sessionsMax: this.config.SESSIONS_PER_MEMBER_MAX,
    });
    await this.revocations.endSessions(dropped);
    return this.pair(subject, sid, jti, idle, now);
  }

  /** Rotates: the presented refresh token stops working and a new pair is returned. */
  async refresh(refreshToken: string): Promise<TokenPair> {
    const claims = this.verifyRefresh(refreshToken);
    if (claims.sid === undefined) return this.refreshLegacy(claims);
    const member = await this.currentMember(claims.sub, claims.sid);
    if (claims.ver < member.sessionVersion) throw new AppError('SESSION_ENDED', 'This session has ended; log in again');
    const jti = randomUUID();
    const now = Date.now();
    const idle = now + this.config.JWT_REFRESH_TTL_SECONDS * 1000;
    const { outcome, nextIdle } = await sessionRotate.run(this.redis, {
      sessions: this.key(claims.sub),
      sessionId: claims.sid,
      presentedJti: claims.jti,
      newJti: jti,
      nowMs: now,
      idleMs: idle,
    });
    if (outcome === Rotation.REUSED) {
      await this.revocations.endSessions([claims.sid]);
      throw new AppError(
        'REFRESH_TOKEN_REVOKED',
        'This refresh token was already used: the session has ended; log in again',
      );
    }
    if (outcome === Rotation.EXPIRED) throw new AppError('TOKEN_EXPIRED', 'The session has expired; log in again');
    if (outcome !== Rotation.OK)
      throw new AppError('REFRESH_TOKEN_REVOKED', 'The refresh token was already used or revoked');
    return this.pair(tokenSubject(member), claims.sid, jti, nextIdle, now);
  }

  /** Logout: ends the session of this refresh token (and its access tokens). */
  async close(memberId: string, refreshToken: string): Promise<void> {
    const claims = this.verifyRefresh(refreshToken);
    if (claims.sub !== memberId) throw new AppError('INVALID_TOKEN', 'The refresh token belongs to another member');
    if (claims.sid === undefined) {
      await this.redis.del(this.legacyKey(claims.sub, claims.jti));
      return;
    }
    await this.redis.hdel(this.key(memberId), claims.sid);
    await this.revocations.endSessions([claims.sid]);
  }

  /** Logout everywhere: bumps the member's session version, so every token issued before is refused. */
  async closeAll(memberId: string): Promise<void> {
    const member = await this.em.fork().transactional(async (em) => {
      const found = await em.findOne(
        Member,
        { id: memberId, deletedAt: null },
        { lockMode: LockMode.PESSIMISTIC_WRITE },
      );
      if (!found) throw new AppError('SESSION_ENDED', 'This session has ended; log in again');
      found.sessionVersion += 1;
      return found;
    });
    await this.endAll(member, 'SESSION_ENDED');
  }

  /**
   * Ends every session of a member whose session version was just bumped and committed: refresh
   * tokens deleted, access tokens refused by every worker (within milliseconds while Redis is up).
   */
  async endAll(member: Pick<Member, 'id' | 'sessionVersion'>, code: SessionEndCode): Promise<void> {
    await this.redis.del(this.key(String(member.id)));
    await this.revocations.endMember(String(member.id), member.sessionVersion, code);
  }

  /** Refused sign-in states, checked at login and at every refresh. */
  private assertMaySignIn(member: Member): void {
    if (member.bannedAt) throw new AppError('MEMBER_BANNED', 'This account is banned');
  }

  /** The member as MySQL has it now: refresh never trusts the role or status in the old token. */
  private async currentMember(memberId: string, sid: string | undefined): Promise<Member> {
    const member = await this.em.findOne(Member, { id: memberId, deletedAt: null });
    if (!member || member.bannedAt) {
      if (sid !== undefined) await this.redis.hdel(this.key(memberId), sid);
      if (!member) throw new AppError('SESSION_ENDED', 'This session has ended; log in again');
    }
    this.assertMaySignIn(member);
    return member;
  }

  /**
   * A refresh token issued before sessions had families (`<prefix>:rt:<member>:<jti>`): used once,
   * it opens a session. Remove one JWT_REFRESH_TTL_SECONDS after the deploy that introduced sessions.
   */
  private async refreshLegacy(claims: PresentedRefresh): Promise<TokenPair> {
    if ((await this.redis.del(this.legacyKey(claims.sub, claims.jti))) !== 1) {
      throw new AppError('REFRESH_TOKEN_REVOKED', 'The refresh token was already used or revoked');
    }
    return this.open(await this.currentMember(claims.sub, undefined));
  }

  private pair(subject: TokenSubject, sid: string, jti: string, idleEndsMs: number, nowMs: number): TokenPair {
    const expiresIn = Math.max(1, Math.floor(idleEndsMs / 1000) - Math.floor(nowMs / 1000));
    return {
      accessToken: this.signing.signAccess(subject, sid),
      refreshToken: this.signing.signRefresh({ sub: subject.id, jti, sid, ver: subject.sessionVersion }, expiresIn),
    };
  }

  private verifyRefresh(token: string): PresentedRefresh {
    let claims: Partial<RefreshClaims>;
    try {
      claims = this.signing.refresh.verify<RefreshClaims>(token);
    } catch (error) {
      if (error instanceof TokenExpiredError)
        throw new AppError('TOKEN_EXPIRED', 'The refresh token has expired; log in again');
      throw new AppError('INVALID_TOKEN', 'The refresh token is invalid');
    }
    const { sub, jti, sid, ver = 0 } = claims;
    const wellFormed =
      claims.typ === 'refresh' &&
      typeof sub === 'string' &&
      /^[1-9]\d{0,18}$/.test(sub) &&
      typeof jti === 'string' &&
      jti.length <= 64 &&
      (sid === undefined || (typeof sid === 'string' && sid.length <= 64)) &&
      Number.isSafeInteger(ver) &&
      ver >= 0;
    if (!wellFormed) throw new AppError('INVALID_TOKEN', 'The refresh token is invalid');
    return { sub, jti, sid, ver };
  }

  private key(memberId: string): string {
    return `${this.config.REDIS_PREFIX}:sessions:${memberId}`;
  }

  private legacyKey(memberId: string, jti: string): string {
    return `${this.config.REDIS_PREFIX}:rt:${memberId}:${jti}`;
  }
}
