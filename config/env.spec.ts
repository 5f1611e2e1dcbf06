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
    expect(config).toMatchObject({ NODE_ENV: 'development', PORT: 3000, DB_DRIVER: 'mysql', DB_PORT: 3306, REDIS_DB: 0, HTTP_ENABLED: true, QUEUE_PROCESSORS_ENABLED: true, BODY_LIMIT_BYTES: 1_048_576 });
    expect(Object.isFrozen(config)).toBe(true);
    expect(() => ((config as { PORT: number }).PORT = 1)).toThrow(TypeError);
  });

  it('converts numbers and booleans from text, and treats an empty value as unset', () => {
    const config = loadConfig({ PORT: '4321', HTTP_ENABLED: 'false', QUEUE_PROCESSORS_ENABLED: '0', CACHE_ENABLED: 'yes', DB_DRIVER: 'mariadb', REDIS_PORT: '' });
    expect(config).toMatchObject({ PORT: 4321, HTTP_ENABLED: false, QUEUE_PROCESSORS_ENABLED: false, CACHE_ENABLED: true, DB_DRIVER: 'mariadb', REDIS_PORT: 6379 });
  });

  it('reads every variable of .env.example, the optional ones included (REDIS_PASSWORD was once never read)', () => {
    const example = readFileSync(new URL('../.env.example', import.meta.url), 'utf8');
    const names = [...example.matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]).filter((name) => name in loadConfig({}));
    expect(names).toEqual(expect.arrayContaining(['REDIS_PASSWORD', 'REDIS_USERNAME', 'DB_MIGRATION_USER', 'DB_MIGRATION_PASSWORD', 'SESSION_MAX_AGE_SECONDS']));
    const config = loadConfig({ REDIS_PASSWORD: 'secret-1', REDIS_USERNAME: 'pick', DB_MIGRATION_USER: 'pick_migrate', DB_MIGRATION_PASSWORD: 'secret-2', SESSION_MAX_AGE_SECONDS: '60', SESSIONS_PER_MEMBER_MAX: '3' });
    expect(config).toMatchObject({ REDIS_PASSWORD: 'secret-1', REDIS_USERNAME: 'pick', DB_MIGRATION_USER: 'pick_migrate', DB_MIGRATION_PASSWORD: 'secret-2', SESSION_MAX_AGE_SECONDS: 60, SESSIONS_PER_MEMBER_MAX: 3 });
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

  it('refuses the development JWT secrets in production, and accepts real ones', () => {
    const message = configError({ NODE_ENV: 'production' });
    expect(message).toContain('JWT_ACCESS_SECRET');
    expect(message).toContain('JWT_REFRESH_SECRET');
    expect(configError({ NODE_ENV: 'production', JWT_ACCESS_SECRET: 'a-real-production-secret-1' })).not.toContain('JWT_ACCESS_SECRET');
    const config = loadConfig({ NODE_ENV: 'production', JWT_ACCESS_SECRET: 'a-real-production-secret-1', JWT_REFRESH_SECRET: 'a-real-production-secret-2' });
    expect(config.NODE_ENV).toBe('production');
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
