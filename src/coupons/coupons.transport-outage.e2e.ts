import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/env.js';
import type { MintedMember } from '../cli/mint-members.js';
import { MemberRole } from '../members/member.entity.js';
import { Pm2Cluster, testPort } from '../testing/cluster.js';
import { createEvent, eventBody, mint } from '../testing/fixtures.js';
import { freshRequest } from '../testing/http.js';
import { OwnRedis } from '../testing/own-services.js';
import { untilEveryWorker, type ProbeResult } from '../testing/workers.js';

/** After the transport is back (every worker ready), how long until every worker refuses. */
const AFTER_RECONNECT_BOUND_MS = 3_000;

/**
 * The broadcast transport goes away (this test's own Redis, killed), an admin ends the event
 * meanwhile (its `coupon.changed` cannot be delivered), the transport comes back: every worker
 * must refuse claims with 410 EVENT_ENDED within AFTER_RECONNECT_BOUND_MS, not after the
 * snapshot TTL (600 s here). Redis keeps its data (AOF), so a stale worker would accept.
 */
describe('event snapshots across a broadcast transport outage (2-worker PM2 cluster)', () => {
  const redisPort = testPort(26);
  const redis = new OwnRedis(redisPort);
  const env = { REDIS_PORT: String(redisPort), REDIS_DB: '0', CACHE_TTL_MS: '600000' };
  const config = loadConfig({ ...process.env, ...env });
  const cluster = new Pm2Cluster({ name: 'coupons-outage', port: testPort(14), instances: 2, env });
  const probed = [{ url: cluster.url, workers: 2 }];
  let admin: string;
  let members: MintedMember[];
  let next = 0;

  beforeAll(async () => {
    await redis.start({ fresh: true });
    admin = (await mint(config, 1, MemberRole.ADMIN))[0].accessToken;
    members = await mint(config, 400);
    await cluster.start();
  });
  afterAll(async () => {
    await cluster.stop();
    await redis.kill();
  });

  it('an event ended while Redis pub/sub is down is refused by every worker soon after the transport reconnects', async () => {
    const { eventId, couponIds } = await createEvent(cluster.http, admin, eventBody({ max: 1000 }));
    const claimPath = `/api/events/${eventId}/coupons/${couponIds[0]}/issue`;
    // Each probe is a claim by another member (a stale worker would accept it: no 409 hides it).
    const claim = (url: string) => freshRequest('POST', url, { token: members[next++ % members.length].accessToken });
    const seen: string[] = [];
    const record = (response: ProbeResult) =>
      seen.push(`${response.servedBy} ${response.status} ${response.body?.code ?? ''}`);

    // Both workers are up (a loaded box boots them seconds apart), hold the running event's snapshot and accept claims.
    await untilEveryWorker(probed, '/health/ready', (r) => r.status === 200, { timeoutMs: 60_000 });
    await untilEveryWorker(probed, claimPath, (r) => r.status === 202, { request: claim, timeoutMs: 30_000 });

    // --- the transport goes away ---
    await redis.kill();
    await untilEveryWorker(
      probed,
      '/health/ready',
      (r) => r.status === 503 && r.body?.checks?.transport?.status === 'down',
      { timeoutMs: 15_000 },
    );
    const ended = await cluster.http.patch(
      `/api/admin/events/${eventId}`,
      { endsAt: new Date(Date.now() - 1000).toISOString() },
      admin,
    );
    expect(ended.status, JSON.stringify(ended.body)).toBe(200);

    // --- it comes back, with its data ---
    const restartedAt = Date.now();
    await redis.start();
    await untilEveryWorker(probed, '/health/ready', (r) => r.status === 200, { timeoutMs: 20_000 });
    const readyAt = Date.now();
    await untilEveryWorker(probed, claimPath, (r) => r.status === 410 && r.body?.code === 'EVENT_ENDED', {
      request: claim,
      timeoutMs: AFTER_RECONNECT_BOUND_MS,
      onResponse: record,
    });
    const refusedAt = Date.now();
    console.log(
      `[snapshot-cache] transport outage: every worker refuses ${refusedAt - readyAt} ms after every worker is ready again ` +
        `(${refusedAt - restartedAt} ms after the Redis restart; bound ${AFTER_RECONNECT_BOUND_MS} ms after ready); answers meanwhile: ${JSON.stringify(seen)}`,
    );
    // And it stays so on every worker.
    const later: string[] = [];
    await untilEveryWorker(probed, claimPath, (r) => (later.push(`${r.status}`), r.status === 410), { request: claim });
    expect(later.filter((status) => status !== '410')).toEqual([]);
    expect((await cluster.workers()).every((worker) => worker.status === 'online')).toBe(true);
  });
});
