import { createSecretKey } from 'node:crypto';
import { JwtService } from '@nestjs/jwt';
import jsonwebtoken from 'jsonwebtoken';
import type { AppConfig } from '../../config/env.js';
import { type Member, MemberRole, SellerStatus } from '../members/member.entity.js';

/** What an access token says about its bearer (checked locally by AuthGuard on every request). */
export interface AccessClaims {
  sub: string;
  role: MemberRole;
  typ: 'access';
  /** The member's session version when issued: tokens of an older version are refused. */
  ver: number;
  /** The session (refresh-token family) it belongs to; absent in tokens minted by the CLI tools. */
  sid?: string;
  /** Present on an approved SELLER's tokens (product writes and uploads need it). */
  apr?: 1;
}

/** What a refresh token says: one token of the session `sid`, replaced by every refresh. */
export interface RefreshClaims {
  sub: string;
  typ: 'refresh';
  jti: string;
  sid: string;
  ver: number;
}

/** The member fields a token is signed from. */
export interface TokenSubject {
  id: string;
  role: MemberRole;
  sessionVersion: number;
  sellerStatus: SellerStatus | null;
}

export function tokenSubject(member: Pick<Member, 'id' | 'role' | 'sessionVersion' | 'sellerStatus'>): TokenSubject {
  return {
    id: String(member.id),
    role: member.role,
    sessionVersion: member.sessionVersion,
    sellerStatus: member.sellerStatus,
  };
}

// A KeyObject, not the string: jsonwebtoken otherwise tries createPublicKey() on every verify,
// which cost ~8 % of a worker's CPU in the coupon-rush profile.
const hmacKey = (secret: string) => createSecretKey(Buffer.from(secret, 'utf8')) as unknown as Buffer;

/**
 * Access tokens remembered as verified, per process (~0.4 KB each: 20 MB at most). A rush's members
 * retry on whichever worker the balancer picks, so each worker sees most of them: with 10,000, the
 * coupons bench (10,000-20,000 members per worker) evicted tokens before their retries came and
 * verified most of them again: claim over bare claim 0.46-0.54 against 0.62-0.68 with 50,000, worker
 * CPU per claim 159-175 us against 137-152, RSS peak +5 MB (three runs each, alternating, one hour).
 */
const VERIFIED_ACCESS_MAX = 50_000;

const ACCESS_VERIFY = { algorithms: ['HS256' as const] };

/**
 * The one place tokens are signed and verified (HS256, keys from the typed config), built once per
 * process: the app's AuthModule provides it, and the CLI tools (mint-members, create-rush-event)
 * construct it from the same config, so a token they mint is exactly one the app issues.
 */
export class TokenSigning {
  readonly access: JwtService;
  readonly refresh: JwtService;
  /**
   * Access tokens this process verified, by the whole token (signature included, so only that very
   * token matches), with their claims: a member's next requests (a rush's retries, the claim status
   * GETs) skip the HMAC and the parse, ~6% of a worker's CPU in a claim-rush profile. An entry is
   * used only before the token's `exp`; the oldest goes first when full. Revocation is checked by the
   * caller on every request, cached or not.
   */
  private readonly verifiedAccess = new Map<string, AccessClaims & { exp: number }>();

  private readonly accessKey: Buffer;

  constructor(config: AppConfig) {
    this.accessKey = hmacKey(config.JWT_ACCESS_SECRET);
    const options = (secret: string, expiresIn: number) => ({
      secret: hmacKey(secret),
      signOptions: { expiresIn, algorithm: 'HS256' as const },
      verifyOptions: { algorithms: ['HS256' as const] },
    });
    this.access = new JwtService(options(config.JWT_ACCESS_SECRET, config.JWT_ACCESS_TTL_SECONDS));
    this.refresh = new JwtService(options(config.JWT_REFRESH_SECRET, config.JWT_REFRESH_TTL_SECONDS));
  }

  /**
   * The claims of a valid access token (frozen: the remembered ones are shared); throws as
   * jsonwebtoken.verify does (TokenExpiredError included). jsonwebtoken itself, with the same key and
   * algorithm as `access`: JwtService.verify adds two option merges per call on the hottest path.
   */
  verifyAccess(token: string): Readonly<AccessClaims> {
    const known = this.verifiedAccess.get(token);
    if (known && Math.floor(Date.now() / 1000) < known.exp) return known;
    if (known) this.verifiedAccess.delete(token);
    const claims = Object.freeze(
      jsonwebtoken.verify(token, this.accessKey, ACCESS_VERIFY) as AccessClaims & { exp?: number },
    );
    if (typeof claims.exp === 'number') {
      if (this.verifiedAccess.size >= VERIFIED_ACCESS_MAX)
        this.verifiedAccess.delete(this.verifiedAccess.keys().next().value!);
      this.verifiedAccess.set(token, claims as AccessClaims & { exp: number });
    }
    return claims;
  }

  signAccess(subject: TokenSubject, sessionId?: string): string {
    const claims: AccessClaims = { sub: subject.id, role: subject.role, typ: 'access', ver: subject.sessionVersion };
    if (sessionId) claims.sid = sessionId;
    if (subject.role === MemberRole.SELLER && subject.sellerStatus === SellerStatus.APPROVED) claims.apr = 1;
    return this.access.sign(claims);
  }

  /** `expiresInSeconds`: the idle lifetime, cut to what is left of the session's absolute lifetime. */
  signRefresh(claims: Omit<RefreshClaims, 'typ'>, expiresInSeconds: number): string {
    return this.refresh.sign({ ...claims, typ: 'refresh' } satisfies RefreshClaims, { expiresIn: expiresInSeconds });
  }
}
