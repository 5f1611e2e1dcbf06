import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/env.js';
import { AppError } from '../common/errors.js';
import { sampleHasherLoad } from '../testing/hasher-load.js';
import { ARGON2_045_HASHES } from '../testing/legacy-hashes.js';
import { PasswordHasher, passwordHashOptions } from './password-hasher.js';

// The smallest memory the settings allow: these tests are about the guard, not the cost.
const guard = (concurrency: number, queue: number, maxWaitMs = 60_000) =>
  new PasswordHasher(
    loadConfig({
      PASSWORD_HASH_MEMORY_KIB: '7168',
      PASSWORD_HASH_TIME_COST: '1',
      PASSWORD_HASH_CONCURRENCY: String(concurrency),
      PASSWORD_HASH_QUEUE: String(queue),
      PASSWORD_HASH_MAX_WAIT_MS: String(maxWaitMs),
      UV_THREADPOOL_SIZE: String(concurrency + 1),
    }),
  );

const settle = (work: Promise<unknown>[]) =>
  Promise.all(
    work.map((p) =>
      p.then(
        () => 'ok',
        (error: unknown) => (error instanceof AppError ? error.code : String(error)),
      ),
    ),
  );

describe('PasswordHasher', () => {
  it('verifies the $argon2id$ hashes argon2 0.45 stored (app parameters and its defaults)', async () => {
    const hasher = new PasswordHasher(loadConfig({}));
    for (const { hash, password } of Object.values(ARGON2_045_HASHES)) {
      expect(await hasher.verify(hash, password)).toBe(true);
      expect(await hasher.verify(hash, `${password}x`)).toBe(false);
    }
  });

  it('hashes with the configured parameters, in the same PHC format', async () => {
    const config = loadConfig({});
    expect(passwordHashOptions(config)).toMatchObject({ memoryCost: 19_456, timeCost: 2, parallelism: 1 });
    const hash = await new PasswordHasher(config).hash('pässword');
    expect(hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    expect(await guard(1, 0).verify(hash, 'pässword')).toBe(true);
  });

  it('answers false (never throws) for a stored hash that is not an argon2 hash', async () => {
    expect(await guard(1, 0).verify('not-a-hash', 'password')).toBe(false);
    expect(await guard(1, 0).verify('$2b$10$abcdefghijklmnopqrstuu', 'password')).toBe(false);
  });

  it('runs at most CONCURRENCY at once, queues QUEUE more, refuses the rest at once with AUTH_BUSY', async () => {
    const hasher = guard(2, 3);
    const sample = sampleHasherLoad(hasher, 1);
    const work = Array.from({ length: 12 }, (_, n) => hasher.hash(`password-${n}`));
    // The refusals are decided on the call, before any hash ran.
    expect(hasher.load.active + hasher.load.waiting).toBe(5);
    const outcomes = await settle(work);
    const { maxActive, maxWaiting } = sample.stop();
    expect(outcomes.filter((o) => o === 'ok')).toHaveLength(5);
    expect(outcomes.filter((o) => o === 'AUTH_BUSY')).toHaveLength(7);
    expect(maxActive).toBeLessThanOrEqual(2);
    expect(maxWaiting).toBeLessThanOrEqual(3);
    // Capacity comes back once the queue drained.
    expect(await settle([hasher.hash('again')])).toEqual(['ok']);
  });

  it('refuses a queued hash that waited longer than MAX_WAIT_MS instead of starting it', async () => {
    const hasher = guard(1, 5, 0);
    const outcomes = await settle(
      Array.from({ length: 4 }, () => hasher.verify(ARGON2_045_HASHES.appParams.hash, 'x')),
    );
    expect(outcomes).toEqual(['ok', 'AUTH_BUSY', 'AUTH_BUSY', 'AUTH_BUSY']);
  });

  it('the settings refuse a hashing cap that would take every libuv pool thread', () => {
    expect(() => loadConfig({ PASSWORD_HASH_CONCURRENCY: '4', UV_THREADPOOL_SIZE: '4' })).toThrow(
      /PASSWORD_HASH_CONCURRENCY=4: must be below UV_THREADPOOL_SIZE=4/,
    );
  });
});
