import 'reflect-metadata';
import { plainToInstance, Transform } from 'class-transformer';
import {
  ArrayNotEmpty,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsString,
  IsUrl,
  Matches,
  Max,
  Min,
  MinLength,
  Validate,
  validateSync,
  type ValidatorConstraintInterface,
  ValidatorConstraint,
} from 'class-validator';
import { isIP } from 'node:net';
import { LIMIT_NAMES, limitSettingDefaults, limitSettingNames, type LimitSettings } from '../src/throttle/limits.js';

/**
 * Every environment variable Pick reads, with its default. Validated once at boot
 * (see `loadConfig`); the rest of the code only sees the typed `AppConfig`.
 * `.env.example` documents the same list.
 */
// Plain decimal integers only: "1e3", "0x50" or " 80" stay strings, so IsInt names the variable.
const toInt = ({ value }: { value: unknown }) => {
  if (value === undefined || value === '') return undefined;
  if (typeof value === 'number') return value;
  return typeof value === 'string' && /^-?\d{1,15}$/.test(value) ? Number(value) : value;
};
const toBool = ({ value }: { value: unknown }) => {
  if (value === undefined || value === '') return undefined;
  if (typeof value === 'boolean') return value;
  const text = String(value).toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(text)) return true;
  if (['0', 'false', 'no', 'off'].includes(text)) return false;
  return value; // left as a string so IsBoolean reports it
};

/** "a, b" → ["a", "b"] (already a list: the default). */
const toList = ({ value }: { value: unknown }) =>
  typeof value === 'string'
    ? value
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item !== '')
    : value;

/** An IPv4/IPv6 address, or one with a CIDR prefix (10.0.0.0/8, fd00::/8). */
export function isAddressOrCidr(value: string): boolean {
  const [address, prefix, ...rest] = value.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

@ValidatorConstraint({ name: 'hostPorts' })
class HostPorts implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    return (
      Array.isArray(value) &&
      value.every((item) => {
        const match = typeof item === 'string' ? /^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):(\d{1,5})$/.exec(item) : null;
        return match !== null && Number(match[2]) >= 1 && Number(match[2]) <= 65535;
      })
    );
  }
  defaultMessage(): string {
    return 'must be a comma-separated list of host:port (e.g. 10.0.0.21:26379,10.0.0.22:26379,10.0.0.31:26379)';
  }
}

@ValidatorConstraint({ name: 'addressesOrCidrs' })
class AddressesOrCidrs implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    return Array.isArray(value) && value.every((item) => typeof item === 'string' && isAddressOrCidr(item));
  }
  defaultMessage(): string {
    return 'must be a comma-separated list of IP addresses or CIDR ranges (e.g. 127.0.0.1,::1,10.0.0.10/32)';
  }
}

export class EnvironmentVariables {
  constructor() {
    // The rate limits' own settings (declared below the class, from the limits table) start at their defaults.
    Object.assign(this, limitSettingDefaults());
  }

  @IsIn(['development', 'test', 'production'])
  NODE_ENV: 'development' | 'test' | 'production' = 'development';

  @IsString() HOST = '0.0.0.0';
  @Transform(toInt) @IsInt() @Min(0) @Max(65535) PORT = 3000;
  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']) LOG_LEVEL = 'info';
  /** At info, a request line for every request slower than this (ms; 0: none); 5xx always. */
  @Transform(toInt) @IsInt() @Min(0) SLOW_REQUEST_LOG_MS = 1000;
  /** Largest JSON body accepted, in bytes; larger gets 413. */
  @Transform(toInt) @IsInt() @Min(1024) BODY_LIMIT_BYTES = 1_048_576;
  /** false: a worker-only process (Bull processors, no HTTP listener). */
  @Transform(toBool) @IsBoolean() HTTP_ENABLED = true;
  /** false: this process never takes queue jobs (HTTP-only). */
  @Transform(toBool) @IsBoolean() QUEUE_PROCESSORS_ENABLED = true;
  /**
   * Peers whose X-Forwarded-For / X-Forwarded-Proto the app believes (the Nginx servers): request.ip is
   * the first address, walking back from the socket's peer, that is not one of these. Anyone else's
   * forwarded headers are ignored, so a client cannot pick its own address.
   */
  @Transform(toList) @IsArray() @ArrayNotEmpty() @Validate(AddressesOrCidrs) TRUSTED_PROXIES: string[] = [
    '127.0.0.1',
    '::1',
  ];
  /** The OpenAPI UI (/docs) and document (/docs-json). Default: on, except NODE_ENV=production. */
  @Transform(toBool) @IsBoolean() DOCS_ENABLED = true;
  /** The x-served-by response header (host/app/worker; for ops and the topology tests). Default: on, except NODE_ENV=production. */
  @Transform(toBool) @IsBoolean() SERVED_BY_HEADER = true;
  /**
   * Bearer token of the ops endpoints: when set, /metrics needs it (401 without) and /health/ready shows
   * its dependency checks only with it (without: just ok/unavailable). Required in production.
   */
  @Matches(/^(|[\x21-\x7e]{16,})$/, { message: 'must be empty or at least 16 printable characters without spaces' })
  OPS_TOKEN = '';
  /**
   * Internal metrics listener of each worker: `GET /metrics` (this worker's registry only) on
   * OPS_HOST:(OPS_PORT + PM2's NODE_APP_INSTANCE), so Prometheus scrapes every worker as its own
   * target (the public port reaches one random worker per connection). 0: no listener.
   */
  @IsString() @MinLength(1) OPS_HOST = '127.0.0.1';
  @Transform(toInt) @IsInt() @Min(0) @Max(65000) OPS_PORT = 9464;

  @IsIn(['mysql', 'mariadb']) DB_DRIVER: 'mysql' | 'mariadb' = 'mysql';
  @IsString() DB_HOST = '127.0.0.1';
  @Transform(toInt) @IsInt() @Min(1) @Max(65535) DB_PORT = 3306;
  @IsString() DB_USER = 'root';
  @IsString() DB_PASSWORD = '';
  /**
   * Account of the migration step (`migration:up`, schema changes); empty: DB_USER. In production the
   * app's DB_USER has data privileges only (deploy/provision/mysql-server.sh creates both users).
   */
  @IsString() DB_MIGRATION_USER = '';
  @IsString() DB_MIGRATION_PASSWORD = '';
  @IsString() @MinLength(1) DB_NAME = 'pick';
  @Transform(toInt) @IsInt() @Min(1) @Max(500) DB_POOL_MAX = 10;

  /**
   * Redis through Sentinel (production): the sentinels' `host:port`s. Every Redis connection (the app's,
   * Bull's, the broadcast transport's) asks them for the current primary and follows a failover by
   * itself. Empty: the single REDIS_HOST/REDIS_PORT (local development).
   */
  @Transform(toList) @IsArray() @Validate(HostPorts) REDIS_SENTINELS: string[] = [];
  /** The name the sentinels monitor the primary under (`sentinel monitor <name> …`). */
  @Matches(/^[A-Za-z0-9._-]{1,64}$/, { message: 'must be 1-64 letters, digits, . _ -' }) REDIS_SENTINEL_MASTER = 'pick';
  /** The sentinels' own ACL user and password (their `requirepass`/ACL); empty: none. */
  @IsString() REDIS_SENTINEL_USERNAME = '';
  @IsString() REDIS_SENTINEL_PASSWORD = '';
  /**
   * Replicas that must hold a claim before it is answered 202 (Redis WAIT, one per batch of claims, after
   * the claim script): a 202 then survives the loss of the primary. A wait that times out is 503 with
   * Retry-After. Default: 1 in production, 0 elsewhere (a single local Redis has no replica).
   */
  @Transform(toInt) @IsInt() @Min(0) @Max(10) REDIS_CLAIM_REPLICAS = 0;
  /** How long a batch of claims waits for REDIS_CLAIM_REPLICAS acknowledgements before its claims get 503. */
  @Transform(toInt) @IsInt() @Min(1) @Max(10_000) REDIS_CLAIM_WAIT_TIMEOUT_MS = 100;
  @IsString() REDIS_HOST = '127.0.0.1';
  @Transform(toInt) @IsInt() @Min(1) @Max(65535) REDIS_PORT = 6379;
  /** ACL user (Redis 6.2+; deploy/provision/redis-server.sh creates one limited to REDIS_PREFIX); empty: `default`. */
  // Defaults, not optional fields: loadConfig reads only variables that have a default (an optional
  // field without one was silently never read from the environment).
  @IsString() REDIS_USERNAME = '';
  @IsString() REDIS_PASSWORD = '';
  @Transform(toInt) @IsInt() @Min(0) @Max(15) REDIS_DB = 0;
  /** Prefix of every Redis key and broadcast channel: several deployments can share one Redis. */
  @IsString() @MinLength(1) REDIS_PREFIX = 'pick';
  /**
   * The app client sends the commands of one event-loop turn in one write (ioredis auto-pipelining):
   * claims +25% req/s on 2 cores (claim p50 16-18 ms against 18-23 ms in a later A/B), and a worker's
   * RSS peaks ~27 MB higher (276 against 249 MB) while a MySQL stall holds tens of thousands of
   * accepted claims (perf/README.md). false: a write per command.
   */
  @Transform(toBool) @IsBoolean() REDIS_AUTO_PIPELINING = true;
  /**
   * Claims are refused (503) while the Redis primary runs without AOF: an accepted claim must survive a
   * restart of Redis. Default: on in production, off elsewhere (the local Redis keeps nothing on disk).
   */
  @Transform(toBool) @IsBoolean() REDIS_REQUIRE_AOF = false;

  @IsString() @MinLength(16) JWT_ACCESS_SECRET = 'dev-access-secret-change-me';
  @IsString() @MinLength(16) JWT_REFRESH_SECRET = 'dev-refresh-secret-change-me';
  @Transform(toInt) @IsInt() @Min(30) JWT_ACCESS_TTL_SECONDS = 1800;
  /** Idle lifetime of a session: a refresh token unused this long expires (each refresh starts it again). */
  @Transform(toInt) @IsInt() @Min(60) JWT_REFRESH_TTL_SECONDS = 14 * 24 * 3600;
  /** Absolute lifetime of a session from its login: no refresh extends it past this (then log in again). */
  @Transform(toInt) @IsInt() @Min(1) SESSION_MAX_AGE_SECONDS = 30 * 24 * 3600;
  /** Open sessions (refresh tokens) per member; a login past it ends the member's oldest session. */
  @Transform(toInt) @IsInt() @Min(1) @Max(1000) SESSIONS_PER_MEMBER_MAX = 10;

  /**
   * Password hashing (argon2id, @node-rs/argon2). Defaults: OWASP's baseline (19 MiB, 2 passes, 1 lane).
   * Changing them affects new hashes only; stored hashes carry their own parameters and still verify.
   */
  @Transform(toInt) @IsInt() @Min(7168) @Max(1_048_576) PASSWORD_HASH_MEMORY_KIB = 19_456;
  @Transform(toInt) @IsInt() @Min(1) @Max(10) PASSWORD_HASH_TIME_COST = 2;
  @Transform(toInt) @IsInt() @Min(1) @Max(8) PASSWORD_HASH_PARALLELISM = 1;
  /**
   * CPU guard: hashes/verifications one worker runs at once (each holds a libuv pool thread for
   * its whole run), and how many more may wait, for at most PASSWORD_HASH_MAX_WAIT_MS. Past that,
   * 503 AUTH_BUSY at once: logins can never take the cores the catalog needs.
   */
  @Transform(toInt) @IsInt() @Min(1) @Max(64) PASSWORD_HASH_CONCURRENCY = 1;
  @Transform(toInt) @IsInt() @Min(0) @Max(10_000) PASSWORD_HASH_QUEUE = 16;
  @Transform(toInt) @IsInt() @Min(0) @Max(60_000) PASSWORD_HASH_MAX_WAIT_MS = 2_000;
  /**
   * libuv's thread pool per worker (fs, dns.lookup, zlib, crypto and argon2 share it). Applied at boot
   * before the pool starts; must exceed PASSWORD_HASH_CONCURRENCY so hashing never takes every thread.
   */
  @Transform(toInt) @IsInt() @Min(2) @Max(1024) UV_THREADPOOL_SIZE = 4;

  /**
   * Rate limits (src/throttle, README "Throttling"): counters in Redis shared by every worker of every
   * server; past a limit 429 TOO_MANY_REQUESTS with Retry-After. Each limit's own two settings,
   * THROTTLE_<…>_LIMIT and THROTTLE_<…>_WINDOW_SECONDS, are declared below the class from the limits
   * table (src/throttle/limits.ts), with their defaults there.
   */
  @Transform(toBool) @IsBoolean() THROTTLE_ENABLED = true;
  /**
   * A login over its limit gets its 429 after a delay growing with the excess (100 ms per attempt
   * over, up to this; 0: at once), so a flooding client slows itself down; at most
   * THROTTLE_HELD_MAX such replies are held per worker at once, the rest are answered at once.
   */
  @Transform(toInt) @IsInt() @Min(0) @Max(10_000) THROTTLE_LOGIN_DELAY_MAX_MS = 2_000;
  @Transform(toInt) @IsInt() @Min(0) @Max(10_000) THROTTLE_HELD_MAX = 64;

  @Transform(toBool) @IsBoolean() CACHE_ENABLED = true;
  @Transform(toInt) @IsInt() @Min(1) CACHE_MAX_ENTRIES = 1000;
  @Transform(toInt) @IsInt() @Min(1000) CACHE_TTL_MS = 600_000;
  /**
   * How long an unknown product or event id is remembered as unknown, so a scan of ids does not
   * reach MySQL on every request (creating the id evicts it at once); 0: not remembered.
   */
  @Transform(toInt) @IsInt() @Min(0) @Max(600_000) CACHE_MISS_TTL_MS = 10_000;

  /** FCFS coupons: a claim still pending after this long is re-enqueued by the sweeper. */
  @Transform(toInt) @IsInt() @Min(200) COUPON_PENDING_BOUND_MS = 30_000;
  /** How often one worker (of all servers, by a Redis lock) sweeps pending claims and missing coupon state. */
  @Transform(toInt) @IsInt() @Min(200) COUPON_SWEEP_INTERVAL_MS = 5_000;
  /**
   * How often one worker (of all servers, by a Redis lock) reconciles every live coupon's Redis state with
   * MySQL even when nothing was seen to change (a backup restored into the same Redis process). A restart,
   * a failover or a restore is reconciled at once: the claim script refuses a state stamped by another
   * Redis server.
   */
  @Transform(toInt) @IsInt() @Min(1000) COUPON_RECONCILE_INTERVAL_MS = 60_000;
  /**
   * false: a coupon state that came back with older data is stamped as it is, without MySQL's rows (what
   * Pick did before reconciliation: it over-issues). Only to show what reconciliation prevents; refused
   * in production.
   */
  @Transform(toBool) @IsBoolean() COUPON_RECONCILE = true;
  /** Bull jobs each worker persists at once (their inserts are batched together). */
  @Transform(toInt) @IsInt() @Min(1) @Max(1000) COUPON_QUEUE_CONCURRENCY = 100;
  /** Largest multi-row INSERT of claimed coupons. */
  @Transform(toInt) @IsInt() @Min(1) @Max(5000) COUPON_INSERT_BATCH_MAX = 500;
  /**
   * Inserts each worker has in MySQL at once. One coupon's inserts queue for its count's row lock, so
   * fewer and larger batches drain faster; what arrives meanwhile waits and goes out with the next (up to
   * COUPON_INSERT_BATCH_MAX rows). The drain bench gave 34-39k rows/s at 1, 43-51k at 2, 44k at 4, and
   * 23-24k unbounded (2 workers, AMD EPYC).
   */
  @Transform(toInt) @IsInt() @Min(1) @Max(100) COUPON_INSERTS_IN_FLIGHT = 2;
  /**
   * Claims one worker accepts within this window (ms) go out as one Bull job per coupon: each job
   * costs Bull three scripts in Redis whatever it carries. Paid by each claim's 202, so keep it a
   * few ms; 0 still batches the claims of one event-loop turn.
   */
  @Transform(toInt) @IsInt() @Min(0) @Max(100) COUPON_ENQUEUE_WINDOW_MS = 3;
  /** Most claims in one enqueued job; a full batch goes out before its window closes. */
  @Transform(toInt) @IsInt() @Min(1) @Max(5000) COUPON_ENQUEUE_BATCH_MAX = 500;

  @IsUrl({ require_tld: false, require_protocol: true }) S3_ENDPOINT = 'http://127.0.0.1:4568';
  @IsString() S3_REGION = 'kr-standard';
  @IsString() @MinLength(3) S3_BUCKET = 'pick-local';
  @IsString() S3_ACCESS_KEY = 'S3RVER';
  @IsString() S3_SECRET_KEY = 'S3RVER';
  @Transform(toBool) @IsBoolean() S3_FORCE_PATH_STYLE = true;
  /** Public base of stored objects (the CDN in production). */
  @IsUrl({ require_tld: false, require_protocol: true }) CDN_BASE_URL = 'http://127.0.0.1:4568/pick-local';
  /** Image optimizer query appended to list thumbnails / detail images (e.g. `type=f&w=320&h=320&quality=80`); empty: plain URL. */
  @Matches(/^[A-Za-z0-9_.~=&%,:-]*$/, { message: 'must be a bare query string without "?"' }) IMAGE_THUMBNAIL_QUERY =
    '';
  @Matches(/^[A-Za-z0-9_.~=&%,:-]*$/, { message: 'must be a bare query string without "?"' }) IMAGE_DETAIL_QUERY = '';
  /** Largest accepted image, in bytes (larger: 413 FILE_TOO_LARGE). */
  @Transform(toInt) @IsInt() @Min(1024) @Max(100 * 1024 * 1024) UPLOAD_MAX_BYTES = 10 * 1024 * 1024;
  /** Most images in one upload request (more: 413 TOO_MANY_FILES). */
  @Transform(toInt) @IsInt() @Min(1) @Max(50) UPLOAD_MAX_FILES = 10;
  /** An uploaded image no product references after this long is deleted. */
  @Transform(toInt) @IsInt() @Min(1) UPLOAD_UNATTACHED_TTL_SECONDS = 24 * 3600;
}

/**
 * Each rate limit's two settings, from the limits table (a new limit is a row there, nothing here):
 * `_LIMIT` requests (a login's: failed attempts) per fixed window of `_WINDOW_SECONDS`, checked as the
 * settings above are (plain decimal integers; at least 1; a window of at most a day).
 */
for (const name of LIMIT_NAMES) {
  const { limit, window } = limitSettingNames(name);
  const declare = (setting: string, ...decorators: PropertyDecorator[]) =>
    decorators.forEach((decorate) => decorate(EnvironmentVariables.prototype, setting));
  declare(limit, Transform(toInt), IsInt(), Min(1));
  declare(window, Transform(toInt), IsInt(), Min(1), Max(86_400));
}

export type AppConfig = Readonly<EnvironmentVariables> & LimitSettings;

/** Ports reserved above OPS_PORT for the workers' metrics listeners (one per PM2 instance). */
export const OPS_PORT_SPAN = 256;

export class ConfigError extends Error {}

/** Reads and validates the environment; throws ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const defaults = new EnvironmentVariables();
  const given = Object.fromEntries(
    Object.keys(defaults)
      .filter((key) => env[key] !== undefined && env[key] !== '')
      .map((key) => [key, env[key]]),
  );
  // Settings whose default depends on NODE_ENV (an explicit value always wins).
  if (env.NODE_ENV === 'production') {
    for (const key of ['DOCS_ENABLED', 'SERVED_BY_HEADER'] as const) if (!(key in given)) given[key] = 'false';
    if (!('REDIS_REQUIRE_AOF' in given)) given.REDIS_REQUIRE_AOF = 'true';
    if (!('REDIS_CLAIM_REPLICAS' in given)) given.REDIS_CLAIM_REPLICAS = '1';
  }
  const config = plainToInstance(EnvironmentVariables, { ...defaults, ...given });
  const errors = validateSync(config, { skipMissingProperties: false });
  if (errors.length > 0) {
    const lines = errors.map((error) => {
      const reasons = Object.values(error.constraints ?? {}).join('; ');
      return `  ${error.property}=${JSON.stringify(env[error.property] ?? error.value)}: ${reasons}`;
    });
    throw new ConfigError(`Invalid environment configuration:\n${lines.join('\n')}`);
  }
  if (config.PASSWORD_HASH_CONCURRENCY >= config.UV_THREADPOOL_SIZE) {
    throw new ConfigError(
      `Invalid environment configuration:\n  PASSWORD_HASH_CONCURRENCY=${config.PASSWORD_HASH_CONCURRENCY}: must be below UV_THREADPOOL_SIZE=${config.UV_THREADPOOL_SIZE} (fs and dns need pool threads too)`,
    );
  }
  if (config.OPS_PORT !== 0 && config.PORT >= config.OPS_PORT && config.PORT < config.OPS_PORT + OPS_PORT_SPAN) {
    throw new ConfigError(
      `Invalid environment configuration:\n  OPS_PORT=${config.OPS_PORT}: the workers' metrics ports (OPS_PORT + worker, up to +${OPS_PORT_SPAN - 1}) would include PORT=${config.PORT}`,
    );
  }
  if (config.NODE_ENV === 'production') {
    const insecure = (['JWT_ACCESS_SECRET', 'JWT_REFRESH_SECRET'] as const).filter((key) =>
      config[key].startsWith('dev-'),
    );
    const missing: string[] = [...insecure];
    if (config.OPS_TOKEN === '') missing.push('OPS_TOKEN');
    const problems = missing.map((key) => `  ${key}: must be set in production`);
    if (!config.COUPON_RECONCILE)
      problems.push('  COUPON_RECONCILE=false: refused in production (claims would over-issue)');
    if (problems.length > 0) {
      throw new ConfigError(`Invalid environment configuration:\n${problems.join('\n')}`);
    }
  }
  // The limits' settings are on it too (declared from the limits table, validated above).
  return Object.freeze(config) as AppConfig;
}

/** Migrations and several libraries crash on older Node: refuse to start instead. */
export function assertNodeVersion(version = process.versions.node): void {
  const [major, minor] = version.split('.').map(Number);
  if (major < 22 || (major === 22 && minor < 17)) {
    throw new ConfigError(
      `Pick needs Node >= 22.17 (24 LTS recommended); this is ${version}. Run it through the npm scripts, which use the project's Node 24.`,
    );
  }
}
