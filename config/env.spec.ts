import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { assertNodeVersion, ConfigError, loadConfig } from './env.js';

const configError = (env: Record<string, string>): string => {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
};

describe('loadConfig', () => {
  it('accepts an empty environment with working defaults, typed and frozen', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      NODE_ENV: 'development',
      PORT: 3000,
      DB_DRIVER: 'mysql',
      DB_PORT: 3306,
      REDIS_DB: 0,
      HTTP_ENABLED: true,
      QUEUE_PROCESSORS_ENABLED: true,
      BODY_LIMIT_BYTES: 1_048_576,
    });
    expect(Object.isFrozen(config)).toBe(true);
    expect(() => ((config as { PORT: number }).PORT = 1)).toThrow(TypeError);
  });

  it('converts numbers and booleans from text, and treats an empty value as unset', () => {
    const config = loadConfig({
      PORT: '4321',
      HTTP_ENABLED: 'false',
      QUEUE_PROCESSORS_ENABLED: '0',
      CACHE_ENABLED: 'yes',
      DB_DRIVER: 'mariadb',
      REDIS_PORT: '',
    });
    expect(config).toMatchObject({
      PORT: 4321,
      HTTP_ENABLED: false,
      QUEUE_PROCESSORS_ENABLED: false,
      CACHE_ENABLED: true,
      DB_DRIVER: 'mariadb',
      REDIS_PORT: 6379,
    });
  });

  it('reads every variable of .env.example, the optional ones included (REDIS_PASSWORD was once never read)', () => {
    const example = readFileSync(new URL('../.env.example', import.meta.url), 'utf8');
    const names = [...example.matchAll(/^([A-Z][A-Z0-9_]*)=/gm)]
      .map((m) => m[1])
      .filter((name) => name in loadConfig({}));
    expect(names).toEqual(
      expect.arrayContaining([
        'REDIS_PASSWORD',
        'REDIS_USERNAME',
        'DB_MIGRATION_USER',
        'DB_MIGRATION_PASSWORD',
        'SESSION_MAX_AGE_SECONDS',
      ]),
    );
    const config = loadConfig({
      REDIS_PASSWORD: 'secret-1',
      REDIS_USERNAME: 'pick',
      DB_MIGRATION_USER: 'pick_migrate',
      DB_MIGRATION_PASSWORD: 'secret-2',
      SESSION_MAX_AGE_SECONDS: '60',
      SESSIONS_PER_MEMBER_MAX: '3',
    });
    expect(config).toMatchObject({
      REDIS_PASSWORD: 'secret-1',
      REDIS_USERNAME: 'pick',
      DB_MIGRATION_USER: 'pick_migrate',
      DB_MIGRATION_PASSWORD: 'secret-2',
      SESSION_MAX_AGE_SECONDS: 60,
      SESSIONS_PER_MEMBER_MAX: 3,
    });
  });

  it('ignores variables it does not know', () => {
    expect(loadConfig({ SOMETHING_ELSE: 'x' } as never)).not.toHaveProperty('SOMETHING_ELSE');
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['PORT', '-1'],
    ['PORT', '80.5'],
    ['PORT', '1e3'],
    ['PORT', '0x50'],
    ['DB_DRIVER', 'oracle'],
    ['DB_PORT', '0'],
    ['REDIS_DB', '16'],
    ['NODE_ENV', 'staging'],
    ['LOG_LEVEL', 'loud'],
    ['HTTP_ENABLED', 'maybe'],
    ['BODY_LIMIT_BYTES', '10'],
    ['JWT_ACCESS_SECRET', 'short'],
    ['JWT_ACCESS_TTL_SECONDS', '5'],
    ['CACHE_TTL_MS', 'forever'],
    ['S3_ENDPOINT', 'not a url'],
    ['CDN_BASE_URL', 'cdn.example.com'],
    ['OPS_PORT', '70000'],
    ['OPS_PORT', 'x'],
  ])('rejects %s=%s, naming the variable and the value', (name, value) => {
    const message = configError({ [name]: value });
    expect(message).toContain(`${name}=${JSON.stringify(value)}`);
  });

  it('refuses an OPS_PORT whose worker range would take PORT; OPS_PORT=0 turns the listener off', () => {
    expect(configError({ PORT: '9465', OPS_PORT: '9464' })).toMatch(/OPS_PORT=9464: .*PORT=9465/);
    expect(loadConfig({ PORT: '9465', OPS_PORT: '0' }).OPS_PORT).toBe(0);
    expect(loadConfig({}).OPS_PORT).toBe(9464);
  });

  it('names every bad variable at once', () => {
    const message = configError({ PORT: 'abc', DB_DRIVER: 'oracle', REDIS_PORT: 'x' });
    expect(message).toMatch(/PORT="abc"/);
    expect(message).toMatch(/DB_DRIVER="oracle"/);
    expect(message).toMatch(/REDIS_PORT="x"/);
  });

  it('refuses the development JWT secrets and an empty OPS_TOKEN in production, and accepts real ones', () => {
    const message = configError({ NODE_ENV: 'production' });
    expect(message).toContain('JWT_ACCESS_SECRET');
    expect(message).toContain('JWT_REFRESH_SECRET');
    expect(message).toContain('OPS_TOKEN: must be set in production');
    expect(configError({ NODE_ENV: 'production', JWT_ACCESS_SECRET: 'a-real-production-secret-1' })).not.toContain(
      'JWT_ACCESS_SECRET',
    );
    const secrets = {
      JWT_ACCESS_SECRET: 'a-real-production-secret-1',
      JWT_REFRESH_SECRET: 'a-real-production-secret-2',
    };
    expect(configError({ NODE_ENV: 'production', ...secrets })).toMatch(/^ {2}OPS_TOKEN: must be set in production$/m);
    const config = loadConfig({ NODE_ENV: 'production', ...secrets, OPS_TOKEN: 'a-real-ops-token-123' });
    expect(config.NODE_ENV).toBe('production');
  });

  it('requires AOF on Redis for claims by default in production only, and refuses COUPON_RECONCILE=false there', () => {
    const production = {
      NODE_ENV: 'production',
      JWT_ACCESS_SECRET: 'a-real-production-secret-1',
      JWT_REFRESH_SECRET: 'a-real-production-secret-2',
      OPS_TOKEN: 'a-real-ops-token-123',
    };
    expect(loadConfig(production).REDIS_REQUIRE_AOF).toBe(true);
    expect(loadConfig({ ...production, REDIS_REQUIRE_AOF: 'false' }).REDIS_REQUIRE_AOF).toBe(false);
    expect(loadConfig({}).REDIS_REQUIRE_AOF).toBe(false);
    expect(loadConfig({ COUPON_RECONCILE: 'false' }).COUPON_RECONCILE).toBe(false);
    expect(configError({ ...production, COUPON_RECONCILE: 'false' })).toMatch(
      /^ {2}COUPON_RECONCILE=false: refused in production/m,
    );
  });

  it('turns /docs and x-served-by off by default in production only; an explicit value wins', () => {
    expect(loadConfig({})).toMatchObject({ DOCS_ENABLED: true, SERVED_BY_HEADER: true, OPS_TOKEN: '' });
    expect(loadConfig({ NODE_ENV: 'test' })).toMatchObject({ DOCS_ENABLED: true, SERVED_BY_HEADER: true });
    const production = {
      NODE_ENV: 'production',
      JWT_ACCESS_SECRET: 'a-real-production-secret-1',
      JWT_REFRESH_SECRET: 'a-real-production-secret-2',
      OPS_TOKEN: 'a-real-ops-token-123',
    };
    expect(loadConfig(production)).toMatchObject({ DOCS_ENABLED: false, SERVED_BY_HEADER: false });
    expect(loadConfig({ ...production, DOCS_ENABLED: 'true', SERVED_BY_HEADER: '1' })).toMatchObject({
      DOCS_ENABLED: true,
      SERVED_BY_HEADER: true,
    });
    expect(loadConfig({ DOCS_ENABLED: 'false' }).DOCS_ENABLED).toBe(false);
  });

  it('reads TRUSTED_PROXIES as a list of addresses and CIDR ranges (default loopback), and refuses anything else', () => {
    expect(loadConfig({}).TRUSTED_PROXIES).toEqual(['127.0.0.1', '::1']);
    expect(loadConfig({ TRUSTED_PROXIES: ' 10.0.0.10, 10.1.0.0/16,fd00::/8 ' }).TRUSTED_PROXIES).toEqual([
      '10.0.0.10',
      '10.1.0.0/16',
      'fd00::/8',
    ]);
    for (const bad of [
      '10.0.0.300',
      'nginx.internal',
      '10.0.0.0/33',
      'fd00::/129',
      '10.0.0.1/8/1',
      ',',
      '10.0.0.1,true',
    ]) {
      expect(configError({ TRUSTED_PROXIES: bad }), bad).toContain(`TRUSTED_PROXIES=${JSON.stringify(bad)}`);
    }
  });

  it('refuses a short or blank-containing OPS_TOKEN', () => {
    expect(configError({ OPS_TOKEN: 'short' })).toContain('OPS_TOKEN="short"');
    expect(configError({ OPS_TOKEN: 'has a space in it 1234' })).toContain('OPS_TOKEN=');
  });
});

describe('assertNodeVersion', () => {
  it.each(['20.20.2', '18.0.0', '22.16.9', '22.0.0'])('refuses Node %s', (version) => {
    expect(() => assertNodeVersion(version)).toThrow(ConfigError);
    expect(() => assertNodeVersion(version)).toThrow(new RegExp(`22\\.17.*${version.replace(/\./g, '\\.')}`));
  });

  it.each(['22.17.0', '22.18.1', '23.0.0', '24.21.0', '25.1.0'])('accepts Node %s', (version) => {
    expect(() => assertNodeVersion(version)).not.toThrow();
  });

  it('accepts the Node running this test (the project pins 24)', () => {
    expect(() => assertNodeVersion()).not.toThrow();
  });
});
