import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import { Counter } from 'prom-client';
import type { AppConfig } from '../../config/env.js';
import { APP_CONFIG } from '../common/config.module.js';
import { AppError } from '../common/errors.js';
import { FailoverFence } from './failover-fence.js';
import { LuaScript } from './lua-script.js';
import { redisOptions } from './redis-options.js';
import { SERVER_RUN_ID_LUA } from './redis-server.js';

const waits = new Counter({
  name: 'pick_redis_replica_waits_total',
  help: 'WAITs for REDIS_CLAIM_REPLICAS replicas, one per batch of claims, by result: acked; timeout (fewer replicas in REDIS_CLAIM_WAIT_TIMEOUT_MS: the batch got 503); failed (an error, or the WAIT ran on another server than the claims); fenced (a failover began while it ran: 503)',
  labelNames: ['result'],
});

/**
 * Runs on the acknowledging connection: a write, so that this connection's replication offset is the
 * primary's offset now (WAIT waits for the offset of its own connection's last write, and every claim
 * whose reply already arrived was written before this), and the server's run id, so a WAIT that reached
 * another server than the claims (a failover between the two) never acknowledges them.
 */
const replicaFence = new LuaScript({
  name: 'replicaFence',
  keys: ['fence'],
  args: [],
  lua: `
redis.call('INCR', fence)
return ${SERVER_RUN_ID_LUA}`,
  reply: (runId: string) => runId,
});

interface Waiter {
  /** The run id of the server that wrote the claim (the claim script returns it). */
  epoch: string;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * A claim is answered only once its write is on REDIS_CLAIM_REPLICAS replicas, so that a 202 survives
 * the loss of the primary: after the claim script, the claim waits here, and one Redis WAIT covers every
 * claim that is waiting (all those whose replies arrived in the same turn, or while the previous WAIT
 * ran: one WAIT per batch, never one per claim). The WAIT runs on a connection of its own: it blocks the
 * connection it runs on, and the app's connection carries every worker's claims.
 * A WAIT that times out (replicas lagging or gone, or a primary cut off from them) rejects its claims
 * with 503: they may have been recorded; the member's retry and GET …/issue say which.
 */
@Injectable()
export class ReplicaAcks implements OnApplicationShutdown {
  private readonly logger = new Logger('ReplicaAcks');
  private readonly client: Redis | undefined;
  private readonly required: number;
  private readonly timeoutMs: number;
  private readonly fenceKey: string;
  private waiting: Waiter[] = [];
  private scheduled = false;
  private inFlight = false;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly fence: FailoverFence,
  ) {
    this.required = config.REDIS_CLAIM_REPLICAS;
    this.timeoutMs = config.REDIS_CLAIM_WAIT_TIMEOUT_MS;
    this.fenceKey = `${config.REDIS_PREFIX}:replica-fence`;
    if (this.required === 0) return;
    const client = new Redis({
      ...redisOptions(config),
      maxRetriesPerRequest: 1,
      // The WAIT itself may take its whole timeout.
      commandTimeout: this.timeoutMs + 2_000,
      connectTimeout: 3_000,
      retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
    });
    client.on('error', () => undefined); // the app's client reports Redis' state; a failed WAIT is counted
    replicaFence.define(client);
    this.client = client;
  }

  /** Replicas each claim needs (0: claims are answered as soon as the primary has them). */
  get replicas(): number {
    return this.required;
  }

  /**
   * Resolves once REDIS_CLAIM_REPLICAS replicas hold every write the server `epoch` had made when this
   * was called (a claim calls it when its script's reply has arrived); rejects with a 503 otherwise.
   */
  acknowledged(epoch: string): Promise<void> {
    if (this.fence.raised) return Promise.reject(fencedOff());
    if (!this.client) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ epoch, resolve, reject });
      this.schedule();
    });
  }

  /** For readiness: the acknowledging connection answers (nothing to check without replicas required). */
  async ping(): Promise<void> {
    await this.client?.ping();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.client?.quit().catch(() => this.client?.disconnect());
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight) return;
    this.scheduled = true;
    // After the current turn: every claim whose reply arrived in it joins this WAIT.
    setImmediate(() => void this.flush());
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    const batch = this.waiting;
    this.waiting = [];
    if (batch.length === 0 || !this.client) return;
    this.inFlight = true;
    const generation = this.fence.generation;
    try {
      // One write: the fence, then the WAIT behind it on this connection.
      const [[fenceError, epoch], [waitError, acked]] = ((await replicaFence
        .queue(this.client.pipeline(), { fence: this.fenceKey })
        .call('WAIT', this.required, this.timeoutMs)
        .exec()) ?? []) as [Error | null, unknown][];
      if (fenceError || waitError) throw fenceError ?? waitError;
      // A failover began while the WAIT ran: the replica that acknowledged may be about to follow another
      // primary (the split brain FailoverFence guards against), so nothing it acknowledged is a 202.
      if (this.fence.raised || this.fence.generation !== generation) {
        waits.inc({ result: 'fenced' });
        for (const waiter of batch) waiter.reject(fencedOff());
        return;
      }
      const enough = Number(acked) >= this.required;
      // Claims written by another server than the one this WAIT ran on (a failover between the two).
      const elsewhere = batch.some((waiter) => waiter.epoch !== epoch);
      waits.inc({ result: !enough ? 'timeout' : elsewhere ? 'failed' : 'acked' });
      const unacknowledged = new AppError(
        'SERVICE_UNAVAILABLE',
        `The claim was not confirmed by ${this.required} Redis replica(s) within ${this.timeoutMs} ms; it may have been recorded: retry, or see GET …/issue`,
        undefined,
        1,
      );
      for (const waiter of batch) {
        if (enough && waiter.epoch === epoch) waiter.resolve();
        else waiter.reject(unacknowledged);
      }
    } catch (error) {
      waits.inc({ result: 'failed' });
      this.logger.warn(`replica acknowledgement failed for ${batch.length} claims: ${(error as Error).message}`);
      const failed = new AppError(
        'SERVICE_UNAVAILABLE',
        'The claim could not be confirmed by the Redis replicas; it may have been recorded: retry, or see GET …/issue',
        undefined,
        1,
      );
      for (const waiter of batch) waiter.reject(failed);
    } finally {
      this.inFlight = false;
      if (this.waiting.length > 0) this.schedule();
    }
  }
}

function fencedOff(): AppError {
  return new AppError(
    'SERVICE_UNAVAILABLE',
    'Redis is failing over; the claim may have been recorded: retry, or see GET …/issue',
    undefined,
    1,
  );
}
