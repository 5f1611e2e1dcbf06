import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/env.js';
import { testPort } from '../testing/cluster.js';
import { OwnRedis } from '../testing/own-services.js';
import { until } from '../testing/poll.js';
import { redisServerFacts } from './redis-server.js';
import { FailoverFence } from './failover-fence.js';
import { ReplicaAcks } from './replica-acks.js';

/**
 * ReplicaAcks against a real primary with one replica of its own (the fence script and WAIT on the
 * acknowledging connection): a claim written by this primary is acknowledged, one whose epoch names
 * another server is not, and neither is anything once the replica is gone. The failover drill
 * (src/coupons/coupons.failover.e2e.ts) covers the same under Sentinel and load; this is the quick one.
 */
describe('replica acknowledgements (fence script + WAIT)', () => {
  const primary = new OwnRedis(testPort(150), { aof: false });
  const replica = new OwnRedis(testPort(151), {
    aof: false,
    args: ['--replicaof', '127.0.0.1', String(testPort(150))],
  });
  let acks: ReplicaAcks;
  let client: Redis;

  beforeAll(async () => {
    await primary.start({ fresh: true });
    await replica.start({ fresh: true });
    client = new Redis({ port: testPort(150) });
    await until(
      'the replica in sync',
      () => replica.cli('info', 'replication'),
      (info) => info.includes('master_link_status:up'),
      15_000,
    );
    const config = loadConfig({
      ...process.env,
      REDIS_HOST: '127.0.0.1',
      REDIS_PORT: String(testPort(150)),
      REDIS_DB: '0',
      REDIS_CLAIM_REPLICAS: '1',
      REDIS_CLAIM_WAIT_TIMEOUT_MS: '300',
    });
    // No sentinels: the fence never goes up (the failover drill has them).
    acks = new ReplicaAcks(config, new FailoverFence(config));
  });
  afterAll(async () => {
    await acks?.onApplicationShutdown();
    client?.disconnect();
    await replica.kill();
    await primary.kill();
  });

  it('acknowledges the primary’s own writes, never a claim of another server, and nothing without a replica', async () => {
    const runId = redisServerFacts(await client.info()).runId!;
    await client.set('written-by-a-claim', '1');
    // Both in the same turn: one fence and one WAIT for the two of them.
    const [own, elsewhere] = await Promise.allSettled([acks.acknowledged(runId), acks.acknowledged('another-run-id')]);
    expect(own.status).toBe('fulfilled');
    expect(elsewhere.status).toBe('rejected');
    expect((elsewhere as PromiseRejectedResult).reason).toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
      retryAfterSeconds: 1,
    });
    // The fence incremented its counter on the primary: the write the WAIT waited for.
    expect(Number(await client.get(`${loadConfig({ ...process.env }).REDIS_PREFIX}:replica-fence`))).toBeGreaterThan(0);

    await replica.kill();
    await until(
      'the primary sees its replica gone',
      async () => redisServerFacts(await client.info()).replicas,
      (replicas) => replicas === 0,
      15_000,
    );
    await expect(acks.acknowledged(runId)).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
  });
});
