import { EntityManager } from '@mikro-orm/mysql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../testing/app.js';
import { sampleHasherLoad } from '../testing/hasher-load.js';
import { ARGON2_045_HASHES, insertMemberWithHash } from '../testing/legacy-hashes.js';
import { PasswordHasher } from './password-hasher.js';

// A tight guard, so a burst a test can send trips it: 1 hash at a time, 3 waiting, the default wait.
// The bursts go to one email: its failed-login limit (src/throttle, 10 by default) would answer them
// 429 before they reach the hasher, so it is raised here; src/throttle/throttle.e2e.ts tests it.
const GUARD = {
  PASSWORD_HASH_CONCURRENCY: '1',
  PASSWORD_HASH_QUEUE: '3',
  PASSWORD_HASH_MAX_WAIT_MS: '2000',
  THROTTLE_LOGIN_EMAIL_LIMIT: '1000',
};
const BURST = 40;

describe('password hashing (@node-rs/argon2) and its CPU guard', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(GUARD);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('members whose passwords argon2 0.45 hashed (before the switch) still log in over HTTP', async () => {
    for (const { hash, password } of Object.values(ARGON2_045_HASHES)) {
      const member = await insertMemberWithHash(t.app.get(EntityManager).fork(), hash);
      const login = await t.http.post('/api/auth/login', { email: member.email, password });
      expect(login.status).toBe(200);
      expect(login.body.accessToken).toEqual(expect.any(String));
      const wrong = await t.http.post('/api/auth/login', { email: member.email, password: `${password}!` });
      expect(wrong.status).toBe(401);
      expect(wrong.body.code).toBe('INVALID_CREDENTIALS');
    }
  });

  it(`${BURST} logins at once: the hashing cap holds, the excess gets 503 AUTH_BUSY at once, no 500, the catalog answers`, async () => {
    const honest = await t.http.member('CUSTOMER');
    const hasher = t.app.get(PasswordHasher);
    const sample = sampleHasherLoad(hasher, 2);

    // Each request's own latency, from its send to its answer.
    const timed = async <T>(send: () => Promise<T>) => {
      const sent = performance.now();
      const result = await send();
      return { result, ms: performance.now() - sent };
    };
    const median = (values: number[]) => values.sort((x, y) => x - y)[Math.floor(values.length / 2)];
    // Real HTTP, one connection each (fetch opens as many as there are requests in flight).
    const logins = Array.from({ length: BURST }, (_, n) =>
      timed(() =>
        t.http.post('/api/auth/login', { email: honest.email, password: n % 2 ? 'password123' : 'wrong-password' }),
      ),
    );
    const catalog = Array.from({ length: 10 }, () => timed(() => t.http.get('/api/general/products')));
    const answered = await Promise.all(logins);
    const browsed = await Promise.all(catalog);
    const { maxActive, maxWaiting } = sample.stop();

    const statuses = answered.map(({ result }) => result.status);
    const busy = answered.filter(({ result }) => result.status === 503);
    const hashed = answered.filter(({ result }) => result.status !== 503);
    const busyMs = median(busy.map(({ ms }) => ms));
    const hashedMs = median(hashed.map(({ ms }) => ms));
    console.log(
      `CPU guard, ${BURST} logins at once (cap 1 + queue 3): ${hashed.length} hashed (200/401), ${busy.length} AUTH_BUSY; ` +
        `max hashing ${maxActive}, max waiting ${maxWaiting}; median latency AUTH_BUSY ${busyMs.toFixed(0)} ms, ` +
        `hashed ${hashedMs.toFixed(0)} ms; catalog ${browsed.map(({ result }) => result.status).join(',')}`,
    );

    expect(statuses.every((status) => [200, 401, 503].includes(status))).toBe(true);
    for (const { result } of busy) {
      expect(result.body.code).toBe('AUTH_BUSY');
      expect(result.headers.get('retry-after')).toBe('1');
    }
    for (const { result } of hashed)
      expect(result.body.code ?? 'OK').toMatch(result.status === 200 ? /OK/ : /INVALID_CREDENTIALS/);
    // The cap held, and it bit: more came than 1 + 3 could take.
    expect(maxActive).toBe(1);
    expect(maxWaiting).toBeLessThanOrEqual(3);
    expect(busy.length).toBeGreaterThanOrEqual(BURST / 2);
    expect(hashed.length).toBeGreaterThanOrEqual(4);
    expect(hasher.load).toEqual({ active: 0, waiting: 0 });
    // Refused at once: a refusal does not wait for the hashes ahead of it, an accepted login does.
    expect(busyMs).toBeLessThan(hashedMs);
    expect(browsed.every(({ result }) => result.status === 200)).toBe(true);

    // The burst is over: an honest login goes through, and so does a signup (which hashes too).
    const after = await t.http.post('/api/auth/login', { email: honest.email, password: 'password123' });
    expect(after.status).toBe(200);
    expect((await t.http.member('SELLER')).accessToken).toEqual(expect.any(String));
  });

  it('signups are guarded too: a burst of signups gets 201 or 503 AUTH_BUSY, never a 500', async () => {
    const tag = String(Date.now()).slice(-7);
    const signups = await Promise.all(
      Array.from({ length: 24 }, (_, n) =>
        t.http.post('/api/auth/signup', {
          email: `burst-${tag}-${n}@test.pick`,
          password: 'password123',
          name: 'Burst',
          nickname: `b${tag}${n}`,
          phone: `012-${String(n).padStart(2, '0')}-${tag}`,
          address: 'Seoul',
          role: 'CUSTOMER',
        }),
      ),
    );
    const statuses = signups.map((s) => s.status);
    console.log(
      `signup burst of 24: ${statuses.filter((s) => s === 201).length} created, ${statuses.filter((s) => s === 503).length} AUTH_BUSY`,
    );
    expect(statuses.every((status) => status === 201 || status === 503)).toBe(true);
    expect(signups.filter((s) => s.status === 503).every((s) => s.body.code === 'AUTH_BUSY')).toBe(true);
    expect(statuses).toContain(503);
    expect(statuses).toContain(201);
  });
});
