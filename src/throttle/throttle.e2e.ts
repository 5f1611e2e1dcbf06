import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { register } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/env.js';
import { MemberRole } from '../members/member.entity.js';
import { startTestApp, type TestApp } from '../testing/app.js';
import { Pm2Cluster, testPort } from '../testing/cluster.js';
import { createEvent, eventBody, mint } from '../testing/fixtures.js';
import { freshRequest, type HttpResult } from '../testing/http.js';
import { OwnRedis } from '../testing/own-services.js';
import { sleep } from '../testing/poll.js';

/**
 * Throttling over real HTTP against the real Redis: floods get 429 TOO_MANY_REQUESTS with Retry-After
 * past their limit, honest members next to them do not; the counters are shared by processes; a dead
 * Redis never makes a 500 nor a request that hangs. The app runs with the defaults of config/env.ts,
 * except the per-IP limits the test env raises (every test member comes from 127.0.0.1).
 */

const statusesOf = (results: { status: number }[]) =>
  results.reduce<Record<number, number>>((counts, r) => ({ ...counts, [r.status]: (counts[r.status] ?? 0) + 1 }), {});

/** Every 429 carries Retry-After: whole seconds, at least 1, at most the limit's window. */
function expectRetryAfter(results: HttpResult[], windowSeconds: number): void {
  for (const result of results.filter((r) => r.status === 429)) {
    expect(result.body.code).toBe('TOO_MANY_REQUESTS');
    const retryAfter = result.headers.get('retry-after') ?? '';
    expect(retryAfter).toMatch(/^[1-9]\d*$/);
    expect(Number(retryAfter)).toBeLessThanOrEqual(windowSeconds);
  }
}

async function timed<T>(work: () => Promise<T>): Promise<T & { ms: number }> {
  const started = performance.now();
  const result = await work();
  return { ...result, ms: performance.now() - started };
}

describe('throttling (Redis-backed, shared)', () => {
  const config = loadConfig({ ...process.env });
  let t: TestApp;
  let admin: string;
  let redis: Redis;

  beforeAll(async () => {
    t = await startTestApp();
    [{ accessToken: admin }] = await mint(config, 1, MemberRole.ADMIN);
    redis = new Redis({ host: config.REDIS_HOST, port: config.REDIS_PORT, db: config.REDIS_DB });
  });
  afterAll(async () => {
    redis?.disconnect();
    await t?.close();
  });

  it('login flood: 200 wrong passwords for one email at once get 429 past the limit, held a moment; another member logs in meanwhile', async () => {
    expect(t.config.THROTTLE_LOGIN_EMAIL_LIMIT).toBe(10); // the production default
    const [victim, other] = await mint(config, 2);
    // This worker's held replies, sampled while the flood runs (the app runs in this process).
    const gauge = register.getSingleMetric('pick_throttle_held_replies')!;
    let mostHeld = 0;
    const sampler = setInterval(
      () => void gauge.get().then((metric) => (mostHeld = Math.max(mostHeld, metric.values[0]?.value ?? 0))),
      5,
    );
    const flood = Array.from({ length: 200 }, () =>
      timed(() => t.http.post('/api/auth/login', { email: victim.email.toUpperCase(), password: 'wrong-password' })),
    );
    await sleep(50);
    const honest = await timed(() => t.http.post('/api/auth/login', { email: other.email, password: 'password123' }));
    const answered = await Promise.all(flood);
    clearInterval(sampler);
    const counts = statusesOf(answered);
    const refused = answered
      .filter((r) => r.status === 429)
      .map((r) => Math.round(r.ms))
      .sort((a, b) => a - b);
    const quantile = (q: number) => refused[Math.min(refused.length - 1, Math.floor(q * refused.length))];
    console.log(
      `login flood of 200 on one email: ${JSON.stringify(counts)}; 429 latency p10 ${quantile(0.1)} p50 ${quantile(0.5)} p90 ${quantile(0.9)} max ${quantile(1)} ms; ` +
        `at most ${mostHeld} replies held at once (cap ${t.config.THROTTLE_HELD_MAX}); other member's login ${honest.status} in ${honest.ms.toFixed(0)} ms`,
    );

    expect(honest.status).toBe(200);
    // Exactly the limit got to the password check (counted atomically before it), the rest 429.
    expect(counts).toEqual({ 401: 10, 429: 190 });
    expectRetryAfter(answered, t.config.THROTTLE_LOGIN_EMAIL_WINDOW_SECONDS);
    // Progressive hold: 429s were held back, never more than THROTTLE_HELD_MAX at once on this worker
    // (the rest answered at once), none longer than THROTTLE_LOGIN_DELAY_MAX_MS plus the time to answer.
    expect(mostHeld).toBeGreaterThan(0);
    expect(mostHeld).toBeLessThanOrEqual(t.config.THROTTLE_HELD_MAX);
    expect(quantile(1)).toBeGreaterThanOrEqual(t.config.THROTTLE_LOGIN_DELAY_MAX_MS);
    expect(quantile(1)).toBeLessThan(t.config.THROTTLE_LOGIN_DELAY_MAX_MS + 3000);

    // After it: the other member still logs in; the attacked email waits out its window (documented).
    expect((await t.http.post('/api/auth/login', { email: other.email, password: 'password123' })).status).toBe(200);
    const locked = await t.http.post('/api/auth/login', { email: victim.email, password: 'password123' });
    expect(locked.status).toBe(429);
  });

  it('an honest member who mistypes a few times, then logs in, is never throttled (successes are not counted)', async () => {
    const [member] = await mint(config, 1);
    for (let round = 0; round < 4; round++) {
      for (let typo = 0; typo < 2; typo++)
        expect((await t.http.post('/api/auth/login', { email: member.email, password: 'pasword123' })).status).toBe(
          401,
        );
      expect((await t.http.post('/api/auth/login', { email: member.email, password: 'password123' })).status).toBe(200);
    }
    // 8 typos in all (limit 10): still within; successes gave back what they counted.
    const key = `${config.REDIS_PREFIX}:throttle:loginEmail:${member.email}`;
    expect(Number(await redis.get(key))).toBe(8);
  });

  it('per client IP: failed logins over many emails from one IP get 429 past the IP limit', async () => {
    const limited = await startTestApp({ THROTTLE_LOGIN_IP_LIMIT: '30', THROTTLE_LOGIN_DELAY_MAX_MS: '0' });
    try {
      // The run's other logins from 127.0.0.1 counted under the same key: start this IP afresh.
      const keys = await redis.keys(`${config.REDIS_PREFIX}:throttle:loginIp:*`);
      if (keys.length > 0) await redis.del(...keys);
      const emails = Array.from({ length: 60 }, (_, n) => `nobody-${n}-${Date.now()}@ip.pick`);
      const answered = await Promise.all(
        emails.map((email) => limited.http.post('/api/auth/login', { email, password: 'guess-123' })),
      );
      const counts = statusesOf(answered);
      console.log(`60 failed logins over 60 emails from one IP, IP limit 30: ${JSON.stringify(counts)}`);
      expect(counts).toEqual({ 401: 30, 429: 30 });
      expectRetryAfter(answered, limited.config.THROTTLE_LOGIN_IP_WINDOW_SECONDS);
      // An attempt refused for its IP did not count against its email (its owner may log in elsewhere).
      const emailCounts = await Promise.all(
        emails.map((email) => redis.get(`${config.REDIS_PREFIX}:throttle:loginEmail:${email}`)),
      );
      expect(emails.map((_, n) => (answered[n].status === 429 ? emailCounts[n] : 'counted'))).toEqual(
        emails.map((_, n) => (answered[n].status === 429 ? null : 'counted')),
      );
      expect(emails.map((_, n) => (answered[n].status === 401 ? emailCounts[n] : '1'))).toEqual(emails.map(() => '1'));
    } finally {
      await limited.close();
      const keys = await redis.keys(`${config.REDIS_PREFIX}:throttle:loginIp:*`);
      if (keys.length > 0) await redis.del(...keys);
    }
  });

  it('signups and token refreshes are limited per client IP', async () => {
    const limited = await startTestApp({ THROTTLE_SIGNUP_IP_LIMIT: '3', THROTTLE_REFRESH_IP_LIMIT: '3' });
    const ipKeys = async () => [
      ...(await redis.keys(`${config.REDIS_PREFIX}:throttle:signup:*`)),
      ...(await redis.keys(`${config.REDIS_PREFIX}:throttle:refresh:*`)),
    ];
    try {
      const stale = await ipKeys(); // the run's other signups from 127.0.0.1
      if (stale.length > 0) await redis.del(...stale);
      const signups = [];
      for (let n = 0; n < 5; n++) {
        const tag = `${Date.now().toString(36)}${n}`;
        signups.push(
          await limited.http.post('/api/auth/signup', {
            email: `ip-${tag}@test.pick`,
            password: 'password123',
            name: 'IP',
            nickname: `ip${tag}`,
            phone: `010-${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`,
            address: 'Seoul',
            role: 'CUSTOMER',
          }),
        );
      }
      expect(signups.map((r) => r.status)).toEqual([201, 201, 201, 429, 429]);
      const refreshes = await Promise.all(
        Array.from({ length: 5 }, () => limited.http.post('/api/auth/token/refresh', { refreshToken: 'not.a.token' })),
      );
      expect(statusesOf(refreshes)).toEqual({ 401: 3, 429: 2 });
      expectRetryAfter([...signups, ...refreshes], limited.config.THROTTLE_SIGNUP_IP_WINDOW_SECONDS);
    } finally {
      await limited.close();
      const keys = await ipKeys();
      if (keys.length > 0) await redis.del(...keys);
    }
  });

  it('claim bot: 300 claims at once by one member: one 202, 409s up to the limit, then 429; another member claims in the same moment', async () => {
    expect(t.config.THROTTLE_CLAIM_MEMBER_LIMIT).toBe(20); // the production default
    const [bot, honest] = await mint(config, 2);
    const { eventId, couponIds } = await createEvent(t.http, admin, eventBody({ max: 100 }));
    const path = `/api/events/${eventId}/coupons/${couponIds[0]}/issue`;
    const started = performance.now();
    const botClaims = Array.from({ length: 300 }, () => t.http.post(path, undefined, bot.accessToken));
    const honestClaim = await timed(() => t.http.post(path, undefined, honest.accessToken));
    const answered = await Promise.all(botClaims);
    const counts = statusesOf(answered);
    console.log(
      `claim bot, 300 at once: ${JSON.stringify(counts)} in ${(performance.now() - started).toFixed(0)} ms; honest claim ${honestClaim.status} in ${honestClaim.ms.toFixed(0)} ms`,
    );
    expect(honestClaim.status).toBe(202);
    expect(counts).toEqual({ 202: 1, 409: 19, 429: 280 });
    expect(answered.filter((r) => r.status === 409).every((r) => r.body.code === 'COUPON_ALREADY_ISSUED')).toBe(true);
    expectRetryAfter(answered, t.config.THROTTLE_CLAIM_MEMBER_WINDOW_SECONDS);
  });

  it('a claim is counted by the claim script, once; past the limit the worker refuses from memory, without Redis', async () => {
    const [member] = await mint(config, 1);
    const { eventId, couponIds } = await createEvent(t.http, admin, eventBody({ max: 100 }));
    const path = `/api/events/${eventId}/coupons/${couponIds[0]}/issue`;
    const counter = `${config.REDIS_PREFIX}:throttle:claim:${member.id}`;
    const scriptCalls = async () => {
      const stats = await redis.info('commandstats');
      return ['evalsha', 'eval'].reduce(
        (sum, command) => sum + Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(stats)?.[1] ?? 0),
        0,
      );
    };
    // One after another: 20 within the limit (one 202, then duplicates), the 21st over it, 4 more.
    const answered: HttpResult[] = [];
    const within: number[] = [];
    for (let i = 0; i < 25; i++) {
      const before = await scriptCalls();
      answered.push(await t.http.post(path, undefined, member.accessToken));
      if (i > 0 && i < 20) within.push((await scriptCalls()) - before);
      if (i === 20) expect(await redis.get(counter)).toBe('21');
    }
    expect(statusesOf(answered)).toEqual({ 202: 1, 409: 19, 429: 5 });
    expectRetryAfter(answered, t.config.THROTTLE_CLAIM_MEMBER_WINDOW_SECONDS);
    // A refused (duplicate) claim is one script call in Redis, limit and decision together (the
    // calls of whatever else runs meanwhile, Bull's and the sweeper's, can only add to the least).
    expect(Math.min(...within)).toBe(1);
    // The last 4 never reached Redis: the counter stayed at 21.
    expect(await redis.get(counter)).toBe('21');
    expect(Number(await redis.pttl(counter))).toBeGreaterThan(0);
  });

  it('honest members in a rush (one claim each, 100 at once) never meet the limit', async () => {
    const members = await mint(config, 100);
    const { eventId, couponIds } = await createEvent(t.http, admin, eventBody({ max: 50 }));
    const answered = await Promise.all(
      members.map((m) => t.http.post(`/api/events/${eventId}/coupons/${couponIds[0]}/issue`, undefined, m.accessToken)),
    );
    expect(statusesOf(answered)).toEqual({ 202: 50, 409: 50 });
  });

  it('seller product writes are limited per member', async () => {
    const [seller] = await mint(config, 1, MemberRole.SELLER);
    const limited = await startTestApp({ THROTTLE_PRODUCT_WRITE_MEMBER_LIMIT: '5' });
    try {
      const product = {
        name: 'Throttled',
        price: 1000,
        description: 'd',
        stock: 1,
        category: 'TOP',
        status: 'IN_STOCK',
      };
      const answered = await Promise.all(
        Array.from({ length: 8 }, () => limited.http.post('/api/seller/products', product, seller.accessToken)),
      );
      expect(statusesOf(answered)).toEqual({ 201: 5, 429: 3 });
      expectRetryAfter(answered, limited.config.THROTTLE_PRODUCT_WRITE_MEMBER_WINDOW_SECONDS);
    } finally {
      await limited.close();
    }
  });

  it('THROTTLE_ENABLED=false: no limit at all', async () => {
    const open = await startTestApp({ THROTTLE_ENABLED: 'false' });
    try {
      const [member] = await mint(config, 1);
      const { eventId, couponIds } = await createEvent(open.http, admin, eventBody({ max: 10 }));
      const answered = await Promise.all(
        Array.from({ length: 40 }, () =>
          open.http.post(`/api/events/${eventId}/coupons/${couponIds[0]}/issue`, undefined, member.accessToken),
        ),
      );
      expect(statusesOf(answered)).toEqual({ 202: 1, 409: 39 });
    } finally {
      await open.close();
    }
  });
});

describe('throttling shared by every worker of a PM2 cluster', () => {
  const config = loadConfig({ ...process.env });
  const cluster = new Pm2Cluster({ name: 'throttle-shared', port: testPort(71), instances: 2 });

  beforeAll(async () => {
    await cluster.start();
  });
  afterAll(async () => {
    await cluster.stop();
  });

  it("one member's claims over fresh connections (spread over both workers) count against one limit", async () => {
    const [admin] = await mint(config, 1, MemberRole.ADMIN);
    const [member] = await mint(config, 1);
    const { eventId, couponIds } = await createEvent(cluster.http, admin.accessToken, eventBody({ max: 10 }));
    const url = `${cluster.url}/api/events/${eventId}/coupons/${couponIds[0]}/issue`;
    // One after another on new connections: PM2 hands each to the next worker.
    const answered: (HttpResult & { servedBy: string })[] = [];
    for (let n = 0; n < 40; n++) answered.push(await freshRequest('POST', url, { token: member.accessToken }));
    const within = answered.filter((r) => r.status !== 429);
    console.log(
      `40 claims over 2 workers: ${JSON.stringify(statusesOf(answered))}; the 20 within the limit served by ${[...new Set(within.map((r) => r.servedBy))].join(', ')}`,
    );
    expect(new Set(within.map((r) => r.servedBy)).size).toBe(2); // both workers counted...
    expect(statusesOf(answered)).toEqual({ 202: 1, 409: 19, 429: 20 }); // ...into one counter of 20
    expect(answered.slice(20).every((r) => r.status === 429)).toBe(true);
  });
});

describe('throttling with Redis down', () => {
  const ownRedis = new OwnRedis(testPort(70), { aof: false });
  let app: TestApp;

  beforeAll(async () => {
    await ownRedis.start({ fresh: true });
    app = await startTestApp({ REDIS_PORT: String(testPort(70)), REDIS_DB: '0', THROTTLE_LOGIN_DELAY_MAX_MS: '0' });
  });
  afterAll(async () => {
    await app?.close();
    await ownRedis.kill();
  });

  it('fails over to per-worker memory limits when Redis is down or hangs: claims fail open (503, no 500), logins keep their limit, nothing waits past the command timeout', async () => {
    const config = app.config;
    const [admin] = await mint(config, 1, MemberRole.ADMIN);
    const [bot, member] = await mint(config, 2);
    const { eventId, couponIds } = await createEvent(app.http, admin.accessToken, eventBody({ max: 100 }));
    const path = `/api/events/${eventId}/coupons/${couponIds[0]}/issue`;
    // With Redis up the limiter counts in it.
    expect((await app.http.post(path, undefined, member.accessToken)).status).toBe(202);
    expect(ownRedis.cli('--scan', '--pattern', `${config.REDIS_PREFIX}:throttle:claim:*`)).toContain(member.id);

    await ownRedis.kill();
    await sleep(300);

    const claims = await Promise.all(
      Array.from({ length: 30 }, () => timed(() => app.http.post(path, undefined, bot.accessToken))),
    );
    const logins = await Promise.all(
      Array.from({ length: 12 }, () =>
        timed(() => app.http.post('/api/auth/login', { email: member.email, password: 'wrong-password' })),
      ),
    );
    const slowest = Math.max(...[...claims, ...logins].map((r) => r.ms));
    console.log(
      `Redis down: 30 claims by one member ${JSON.stringify(statusesOf(claims))}, 12 wrong logins ${JSON.stringify(statusesOf(logins))}, slowest ${slowest.toFixed(0)} ms`,
    );
    // Claims cannot work without Redis (503), but the throttle never adds a failure of its own: the
    // member's first 20 reach the claim (503 SERVICE_UNAVAILABLE), the rest are limited in memory.
    expect(statusesOf(claims)).toEqual({ 503: 20, 429: 10 });
    expect(claims.filter((r) => r.status === 503).every((r) => r.body.code === 'SERVICE_UNAVAILABLE')).toBe(true);
    // Login (MySQL and argon2, no Redis until the session): failed attempts counted per worker in memory.
    expect(statusesOf(logins)).toEqual({ 401: 10, 429: 2 });
    expect(slowest).toBeLessThan(5_000); // about the Redis client's command timeout (2 s) at worst

    // Redis back (empty): the limits count in Redis again.
    await ownRedis.start();
    await sleep(1_500);
    const again = await app.http.post(path, undefined, member.accessToken);
    expect([409, 503]).toContain(again.status); // the empty Redis may not have the coupon's stock yet
    expect(ownRedis.cli('--scan', '--pattern', `${config.REDIS_PREFIX}:throttle:claim:*`)).toContain(member.id);

    // Redis hangs (SIGSTOP: connected, never answers): a check waits at most the client's command
    // timeout (2 s), then counts in memory; a wrong password is still a 401, never a 500.
    const pid = Number(readFileSync(`${ownRedis.dir}/redis.pid`, 'utf8'));
    process.kill(pid, 'SIGSTOP');
    try {
      const hung = await Promise.all(
        Array.from({ length: 5 }, () =>
          timed(() => app.http.post('/api/auth/login', { email: bot.email, password: 'wrong-password' })),
        ),
      );
      console.log(
        `Redis hung: 5 wrong logins ${JSON.stringify(statusesOf(hung))}, slowest ${Math.max(...hung.map((r) => r.ms)).toFixed(0)} ms`,
      );
      expect(statusesOf(hung)).toEqual({ 401: 5 });
      expect(Math.max(...hung.map((r) => r.ms))).toBeLessThan(5_000);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
  });
});
