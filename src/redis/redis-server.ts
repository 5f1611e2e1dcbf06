import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { Counter, Gauge } from 'prom-client';
import { Subject } from 'rxjs';
import type { AppConfig } from '../../config/env.js';
import { APP_CONFIG } from '../common/config.module.js';
import { atLeast, MIN_REDIS_VERSION, redisVersionOf } from './redis-version.js';

/** What INFO says about the server behind the app's client, read at each (re)connection. */
export interface RedisServerFacts {
  version?: string;
  /** Changes with every restart, and with a failover (another process): the epoch coupon states are stamped with. */
  runId?: string;
  role?: string;
  /** INFO replication's connected_slaves, when it was read. */
  replicas?: number;
  /** INFO persistence's aof_enabled. */
  aof?: boolean;
  /** CONFIG GET appendfsync, read as the default user only (production's ACL user may not run CONFIG). */
  appendfsync?: string;
}

/** A (re)connection of the app's client: `changed` when the server's run id is not the one seen before. */
export interface RedisConnected {
  runId: string | undefined;
  previousRunId: string | undefined;
  /** Another server process than the last connection's (a restart, a failover, a restored backup). */
  changed: boolean;
}

const serverChanges = new Counter({
  name: 'pick_redis_server_changes_total',
  help: "Times this worker's Redis client reconnected to another server process (new run id: a restart, a failover, a restored backup)",
});
const aofGauge = new Gauge({
  name: 'pick_redis_aof_enabled',
  help: '1 when the Redis primary behind this worker has AOF on (INFO persistence aof_enabled), 0 when off; absent until read',
});

const field = (info: string, name: string) => new RegExp(`^${name}:(.*?)\\s*$`, 'm').exec(info)?.[1];

/**
 * Lua: the run id of the server the script runs on (what `runId` is read from), inside the script itself
 * so no client can pass another server's: the claim script's epoch and ReplicaAcks' fence must agree.
 */
export const SERVER_RUN_ID_LUA = `string.match(redis.call('INFO', 'server'), 'run_id:(%x+)')`;

/** Reads the facts out of the text of INFO (all default sections). */
export function redisServerFacts(info: string): RedisServerFacts {
  const aof = field(info, 'aof_enabled');
  const replicas = field(info, 'connected_slaves');
  return {
    version: redisVersionOf(info),
    runId: field(info, 'run_id'),
    role: field(info, 'role'),
    replicas: replicas === undefined ? undefined : Number(replicas),
    aof: aof === undefined ? undefined : aof === '1',
  };
}

/**
 * The Redis server behind the app's client, as this process last read it: its version (Pick's floor),
 * its run id (a new one means the data may be another server's: coupon stock is reconciled with MySQL
 * before it is decided on again, see src/coupons/coupon-stock.ts), its role and its persistence.
 * Production refuses claims on a Redis without AOF (REDIS_REQUIRE_AOF): an accepted claim must survive
 * a restart of Redis.
 */
@Injectable()
export class RedisServer {
  private readonly logger = new Logger('Redis');
  private facts: RedisServerFacts = {};
  private readonly connectedSubject = new Subject<RedisConnected>();
  /** Each time the app's client is ready again, once its server's facts are read. */
  readonly connected = this.connectedSubject.asObservable();

  constructor(
    @Inject(APP_CONFIG)
    private readonly config: Pick<AppConfig, 'REDIS_REQUIRE_AOF' | 'REDIS_USERNAME' | 'REDIS_CLAIM_REPLICAS'>,
  ) {}

  /** Reads the server's facts at every (re)connection of `client`. */
  observe(client: Redis): void {
    client.on('ready', () => void this.read(client));
  }

  get current(): Readonly<RedisServerFacts> {
    return this.facts;
  }

  private async read(client: Redis): Promise<void> {
    let facts: RedisServerFacts;
    try {
      facts = redisServerFacts(await client.info());
    } catch {
      return; // not judged: the next connection reads again
    }
    // The fsync policy is only in CONFIG, which production's ACL user may not run (it would read every
    // setting, passwords included): asked only as the default user (local development, tests).
    if (!this.config.REDIS_USERNAME) {
      const fsync = await client.config('GET', 'appendfsync').catch(() => undefined);
      if (Array.isArray(fsync) && typeof fsync[1] === 'string') facts.appendfsync = fsync[1];
    }
    const previousRunId = this.facts.runId;
    this.facts = facts;
    const changed = previousRunId !== undefined && facts.runId !== previousRunId;
    if (changed) {
      serverChanges.inc();
      this.logger.warn(
        `redis: connected to another server process (run id ${previousRunId} -> ${facts.runId}: a restart, a failover or a restore); coupon stock is reconciled with MySQL before claims are decided`,
      );
    }
    if (facts.version && !atLeast(facts.version))
      this.logger.error(`redis: version ${facts.version} is older than Pick's minimum ${MIN_REDIS_VERSION}`);
    if (facts.aof !== undefined) aofGauge.set(facts.aof ? 1 : 0);
    const refusal = this.claimsRefusal();
    if (refusal) this.logger.error(`redis: ${refusal}`);
    this.connectedSubject.next({ runId: facts.runId, previousRunId, changed });
  }

  /** Why the server cannot be used at all (readiness fails), or undefined. */
  unusable(): string | undefined {
    const { version } = this.facts;
    if (version && !atLeast(version)) return `Redis ${version} is older than Pick's minimum ${MIN_REDIS_VERSION}`;
    return undefined;
  }

  /** Why claims must be refused on this server (no AOF where REDIS_REQUIRE_AOF), or undefined. */
  claimsRefusal(): string | undefined {
    if (this.config.REDIS_REQUIRE_AOF && this.facts.aof === false)
      return 'claims are refused: the Redis primary runs without AOF (appendonly no), so an accepted claim would not survive its restart (REDIS_REQUIRE_AOF)';
    return undefined;
  }

  /**
   * For /health/ready's details, as read at the last connection: e.g. "7.0.15 master with 2 replicas, AOF
   * on (appendfsync everysec)", and what claims need that is missing.
   */
  describe(): string | undefined {
    const { version, role, replicas, aof, appendfsync } = this.facts;
    if (version === undefined) return undefined;
    const needed = this.config.REDIS_CLAIM_REPLICAS;
    const topology = `${version} ${role ?? ''}${replicas === undefined ? '' : ` with ${replicas} replica${replicas === 1 ? '' : 's'}`}`;
    const short = replicas !== undefined && replicas < needed ? `: claims need ${needed} (REDIS_CLAIM_REPLICAS)` : '';
    const persistence =
      aof === undefined
        ? 'persistence unknown'
        : aof
          ? `AOF on${appendfsync ? ` (appendfsync ${appendfsync})` : ''}`
          : 'AOF off';
    const refusal = this.claimsRefusal() ? ': claims refused (REDIS_REQUIRE_AOF)' : '';
    return `${topology.trim()}${short}, ${persistence}${refusal}`;
  }
}
