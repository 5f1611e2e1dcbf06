/**
 * Every rate limit, one row each: the one place a limit's facts live. Read by ThrottleGuard
 * (`@Throttled(name)`: the key the row names), LoginLimits and ClaimLimits (the limits they count),
 * RateLimiters (one Redis limiter per row), config/env.ts (each row's two settings, with the defaults
 * here) and the test env; src/throttle/README.md's table, the README's list and .env.example are
 * checked against it (limits.spec.ts). Plain data: config/env.ts imports it.
 */

/** Whose requests a limit counts together: the client's address (request.ip), the member, or the email a login names. */
export type LimitKey = 'ip' | 'member' | 'email';

interface LimitFacts {
  /** Its settings: `<setting>_LIMIT` (requests per window, at least 1) and `<setting>_WINDOW_SECONDS` (1 s to a day). */
  setting: `THROTTLE_${string}`;
  /** The defaults of the two settings. */
  limit: number;
  windowSeconds: number;
  /** What is counted, in a word or two (the docs' list; a login limit's are the failed ones). */
  what: string;
  /** Why an honest user never meets it (the docs' table). */
  why: string;
}

/**
 * Who counts a limit, which fixes what it can key on and what it counts:
 * - `guard`: ThrottleGuard, every request of a route marked `@Throttled(name)`, per client IP or per
 *   member (the route needs a token: AuthGuard has run);
 * - `login`: LoginLimits, failed logins only (counted before the password check, given back unless it
 *   was a wrong password), per client IP or per email;
 * - `claim script`: ClaimLimits, every claim of a member, counted by the claim script itself in the
 *   claim's one Redis round trip (a claim refused before the script: through the library).
 */
export type LimitSpec = LimitFacts &
  (
    | { countedBy: 'guard'; key: 'ip' | 'member'; counts: 'every request' }
    | { countedBy: 'login'; key: 'ip' | 'email'; counts: 'failed attempts' }
    | { countedBy: 'claim script'; key: 'member'; counts: 'every request' }
  );

export const LIMITS = {
  loginEmail: {
    setting: 'THROTTLE_LOGIN_EMAIL',
    key: 'email',
    counts: 'failed attempts',
    countedBy: 'login',
    what: 'logins',
    limit: 10,
    windowSeconds: 900,
    why: 'one person mistypes once or twice, from wherever they are; successes are given back',
  },
  loginIp: {
    setting: 'THROTTLE_LOGIN_IP',
    key: 'ip',
    counts: 'failed attempts',
    countedBy: 'login',
    what: 'logins',
    limit: 100,
    windowSeconds: 900,
    why: 'an office or carrier NAT shares an IP, and still makes nowhere near 100 failures (over any emails) in 15 min',
  },
  signup: {
    setting: 'THROTTLE_SIGNUP_IP',
    key: 'ip',
    counts: 'every request',
    countedBy: 'guard',
    what: 'signups',
    limit: 20,
    windowSeconds: 3600,
    why: 'one signup per person; a shared IP with 20 new accounts an hour is a script',
  },
  refresh: {
    setting: 'THROTTLE_REFRESH_IP',
    key: 'ip',
    counts: 'every request',
    countedBy: 'guard',
    what: 'token refreshes',
    limit: 120,
    windowSeconds: 60,
    why: 'a client refreshes once per 30 min per session',
  },
  claim: {
    setting: 'THROTTLE_CLAIM_MEMBER',
    key: 'member',
    counts: 'every request',
    countedBy: 'claim script',
    what: 'coupon claims',
    limit: 20,
    windowSeconds: 10,
    why: "a member claims each coupon once (a double tap or a retry after a 503 adds one or two), whatever the coupon; the claim's status is polled with GET, which is not limited",
  },
  productWrite: {
    setting: 'THROTTLE_PRODUCT_WRITE_MEMBER',
    key: 'member',
    counts: 'every request',
    countedBy: 'guard',
    what: 'product writes',
    limit: 300,
    windowSeconds: 60,
    why: "5 creates, updates or deletes a second sustained covers a seller's bulk edit script; each write invalidates every worker's cache, so no more",
  },
  upload: {
    setting: 'THROTTLE_UPLOAD_MEMBER',
    key: 'member',
    counts: 'every request',
    countedBy: 'guard',
    what: 'image uploads',
    limit: 30,
    windowSeconds: 60,
    why: 'each request can carry `UPLOAD_MAX_FILES` images; 300 images a minute is beyond a person',
  },
} as const satisfies Record<string, LimitSpec>;

export type LimitName = keyof typeof LIMITS;

/** The limits `who` counts: `@Throttled` takes only `LimitCountedBy<'guard'>`. */
export type LimitCountedBy<Who extends LimitSpec['countedBy']> = {
  [Name in LimitName]: (typeof LIMITS)[Name]['countedBy'] extends Who ? Name : never;
}[LimitName];

export const LIMIT_NAMES = Object.keys(LIMITS) as LimitName[];

type SettingOf<Name extends LimitName> = (typeof LIMITS)[Name]['setting'];

/** Every limit's two settings, as config/env.ts declares them (AppConfig includes this). */
export type LimitSettings = { readonly [Name in LimitName as `${SettingOf<Name>}_LIMIT`]: number } & {
  readonly [Name in LimitName as `${SettingOf<Name>}_WINDOW_SECONDS`]: number;
};

/** The names of a limit's two settings. */
export function limitSettingNames(name: LimitName): { limit: keyof LimitSettings; window: keyof LimitSettings } {
  const { setting } = LIMITS[name];
  return {
    limit: `${setting}_LIMIT` as keyof LimitSettings,
    window: `${setting}_WINDOW_SECONDS` as keyof LimitSettings,
  };
}

/** Each setting with its default, for config/env.ts. */
export function limitSettingDefaults(): Record<keyof LimitSettings, number> {
  return Object.fromEntries(
    LIMIT_NAMES.flatMap((name) => {
      const settings = limitSettingNames(name);
      return [
        [settings.limit, LIMITS[name].limit],
        [settings.window, LIMITS[name].windowSeconds],
      ];
    }),
  ) as Record<keyof LimitSettings, number>;
}

/** A limit as configured: `points` requests per window of `windowSeconds`. */
export function configuredLimit(config: LimitSettings, name: LimitName): { points: number; windowSeconds: number } {
  const settings = limitSettingNames(name);
  return { points: config[settings.limit], windowSeconds: config[settings.window] };
}

/** Where a limit keeps its counters: `<REDIS_PREFIX>:throttle:<limit>:<key>` (the value: requests counted in the window). */
export const throttleKeyPrefix = (redisPrefix: string, limit: LimitName) => `${redisPrefix}:throttle:${limit}`;
