import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { Redis } from 'ioredis';
import { Counter, Gauge } from 'prom-client';
import type { AppConfig } from '../../config/env.js';
import { APP_CONFIG } from '../common/config.module.js';
import { sentinelAddresses } from './redis-options.js';

/**
 * Sentinel events that say the primary may be replaced (each sentinel publishes them on a channel of that
 * name): ODOWN (a quorum finds it down: the sentinel that sees it starts a failover at once), a failover
 * tried, a vote (`+new-epoch`: every sentinel that votes, for whichever primary they watch). Every one of
 * them comes before a replica is promoted. `+switch-master` and `-odown` only make the fence look again.
 */
export const FAILOVER_SIGNS = ['+odown', '+try-failover', '+new-epoch'] as const;
export const FAILOVER_ENDS = ['+switch-master', '-odown'] as const;
/** Every channel the app subscribes to on the sentinels (their ACL for the app's user lists them). */
export const SENTINEL_CHANNELS = [...FAILOVER_SIGNS, ...FAILOVER_ENDS] as const;

/**
 * A replica's flags (on the sentinel leading the failover) once it can no longer acknowledge the old
 * primary's writes: promoted, following the new primary (reconf_inprog, reconf_done: the leader read it in
 * its INFO), or down.
 */
const LEFT_OLD_PRIMARY = /(^|,)(promoted|reconf_inprog|reconf_done|s_down)(,|$)/;
/** The fence stays up at least this long after the last sign: a vote's promotion follows within ~1 s. */
const SETTLE_MS = 2_000;
/** While up, the sentinels are asked this often whether the failover is over. */
const POLL_MS = 250;

const fenceGauge = new Gauge({
  name: 'pick_redis_failover_fence',
  help: '1 while the sentinels report a failover that may be under way (claims get 503, none is acknowledged, no claim is written): the primary this worker talks to may be deposed',
});
const fenceRaises = new Counter({
  name: 'pick_redis_failover_fences_total',
  help: 'Times the failover fence went up (a sentinel published +odown, +try-failover or +new-epoch)',
});

/** Whether the message of a sign names this primary (`+new-epoch` names none: a vote of any failover). */
export function signNamesMaster(channel: string, message: string, master: string): boolean {
  if (channel === '+new-epoch') return true;
  // "+odown master <name> <ip> <port> #quorum 2/2", "+try-failover master <name> <ip> <port>",
  // "+switch-master <name> <old ip> <old port> <new ip> <new port>", "-odown master <name> <ip> <port>".
  const words = message.split(' ');
  return (words[0] === 'master' ? words[1] : words[0]) === master;
}

const field = (reply: string[], name: string) => {
  const at = reply.indexOf(name);
  return at >= 0 ? (reply[at + 1] ?? '') : '';
};

/**
 * What a sentinel's SENTINEL MASTER reply (field, value, …) says of the primary: this sentinel leads a
 * failover (`failover_in_progress`: its replicas tell whether the brain can still split), it finds the
 * primary objectively down (a failover is coming, from it or another), or neither.
 */
export function sentinelView(master: string[]): 'leading' | 'down' | 'clear' {
  const flags = field(master, 'flags').split(',');
  if (flags.includes('failover_in_progress')) return 'leading';
  return flags.includes('o_down') ? 'down' : 'clear';
}

/**
 * Whether every replica of the old primary (the leading sentinel's SENTINEL REPLICAS reply) is promoted,
 * follows the new primary, or is down: from then on the old primary, if it runs, has no replica, so
 * min-replicas-to-write refuses its writes and WAIT acknowledges none of them.
 */
export function replicasLeftOldPrimary(replicas: string[][]): boolean {
  return replicas.every((replica) => LEFT_OLD_PRIMARY.test(field(replica, 'flags')));
}

/**
 * The failover fence. With Sentinel, WAIT's acknowledgement is not enough for a 202 that
 * survives: a primary that froze (a VM pause, a stall) and comes back just after a replica was promoted
 * still has the other replica attached until the sentinels move it (up to a second later), so it runs
 * the claims queued while it was frozen and that replica acknowledges them; then the replica follows the
 * new primary, and every one of those 202s is gone (1,091 lost in the drill that thaws at that moment).
 * Every failover starts with sentinel events (+odown, a vote) that come before any promotion, so from
 * the first of them until the sentinels say the brain can no longer split (a majority of them answering;
 * none finding the primary down; the one leading the failover, if any, with every replica of the old
 * primary promoted, following the new one or down; no sign for SETTLE_MS) this worker:
 * - refuses claims before the claim script (503, Retry-After 1),
 * - acknowledges none (ReplicaAcks: a WAIT that returns while the fence is or was up meanwhile -> 503),
 * - writes no claim to MySQL (IssuanceProcessor: the jobs are retried), so the deposed primary's jobs
 *   leave no row that the new primary does not count.
 * Only with REDIS_SENTINELS; one subscriber and one command connection per sentinel.
 */
@Injectable()
export class FailoverFence implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('FailoverFence');
  private readonly master: string;
  private readonly subscribers: Redis[] = [];
  private readonly askers: Redis[] = [];
  private raisedAt: number | undefined;
  private lastSignAt = 0;
  private signs = 0;
  private poller: NodeJS.Timeout | undefined;
  private asking = false;

  constructor(
    @Inject(APP_CONFIG)
    private readonly config: Pick<
      AppConfig,
      'REDIS_SENTINELS' | 'REDIS_SENTINEL_MASTER' | 'REDIS_SENTINEL_USERNAME' | 'REDIS_SENTINEL_PASSWORD'
    >,
  ) {
    this.master = config.REDIS_SENTINEL_MASTER;
  }

  /** Up: a failover may be under way; nothing may be acknowledged or written. */
  get raised(): boolean {
    return this.raisedAt !== undefined;
  }

  /**
   * Counts every sign seen: a WAIT that started before a sign and returned after it must not acknowledge,
   * even if the fence is down again by then.
   */
  get generation(): number {
    return this.signs;
  }

  onModuleInit(): void {
    for (const address of sentinelAddresses(this.config)) {
      const options = {
        ...address,
        username: this.config.REDIS_SENTINEL_USERNAME || undefined,
        password: this.config.REDIS_SENTINEL_PASSWORD || undefined,
        connectTimeout: 3_000,
        // INFO is not a sentinel command the app's user may run (security.sh sentinel-acl).
        enableReadyCheck: false,
        retryStrategy: (attempt: number) => Math.min(attempt * 250, 2_000),
      };
      const subscriber = new Redis({ ...options, lazyConnect: true });
      subscriber.on('error', () => undefined); // a sentinel away: the others still tell
      subscriber.on('message', (channel: string, message: string) => this.heard(channel, message));
      // Re-sent by ioredis on every reconnect. Refused (NOPERM: the sentinels' ACL predates the fence), the
      // fence never goes up: said loudly, since claims are then only as safe as WAIT alone.
      subscriber
        .subscribe(...SENTINEL_CHANNELS)
        .catch((error: Error) =>
          this.logger.error(
            `sentinel ${address.host}:${address.port}: cannot subscribe to ${SENTINEL_CHANNELS.join(' ')} (${error.message}); the failover fence will not hear it`,
          ),
        );
      const asker = new Redis({ ...options, lazyConnect: true, maxRetriesPerRequest: 0, commandTimeout: 1_000 });
      asker.on('error', () => undefined);
      this.subscribers.push(subscriber);
      this.askers.push(asker);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.poller);
    for (const client of [...this.subscribers, ...this.askers]) client.disconnect();
  }

  private heard(channel: string, message: string): void {
    if (!signNamesMaster(channel, message, this.master)) return;
    if ((FAILOVER_SIGNS as readonly string[]).includes(channel)) this.raise(`${channel} ${message}`);
    else if (this.raised) void this.ask();
  }

  private raise(why: string): void {
    this.signs++;
    this.lastSignAt = Date.now();
    if (this.raised) return;
    this.raisedAt = Date.now();
    fenceRaises.inc();
    fenceGauge.set(1);
    this.logger.warn(
      `redis failover fence up (${why}): claims get 503, none is acknowledged or written until the sentinels report the failover over`,
    );
    this.poller = setInterval(() => void this.ask(), POLL_MS);
  }

  /**
   * Lowers the fence once a majority of the sentinels answer, and none reports a failover that could still
   * split the brain (sentinelView, replicasLeftOldPrimary); not before SETTLE_MS after the last sign, which also covers a
   * leader this worker cannot reach (the others show nothing of its failover until it promotes).
   */
  private async ask(): Promise<void> {
    if (this.asking || !this.raised || Date.now() - this.lastSignAt < SETTLE_MS) return;
    this.asking = true;
    try {
      const signsBefore = this.signs;
      const answers = await Promise.all(this.askers.map((asker) => this.askOne(asker)));
      const answered = answers.filter((answer) => answer !== undefined);
      const majority = Math.floor(this.askers.length / 2) + 1;
      if (answered.length < majority || answered.includes('failing over') || this.signs !== signsBefore) return;
      const heldMs = Date.now() - this.raisedAt!;
      this.raisedAt = undefined;
      clearInterval(this.poller);
      fenceGauge.set(0);
      this.logger.warn(
        `redis failover fence down after ${heldMs} ms: the sentinels report no failover that could split the brain`,
      );
    } finally {
      this.asking = false;
    }
  }

  /** One sentinel's view: undefined when it does not answer. */
  private async askOne(asker: Redis): Promise<'clear' | 'failing over' | undefined> {
    try {
      const view = sentinelView((await asker.call('SENTINEL', 'MASTER', this.master)) as string[]);
      if (view !== 'leading') return view === 'clear' ? 'clear' : 'failing over';
      const replicas = (await asker.call('SENTINEL', 'REPLICAS', this.master)) as string[][];
      return replicasLeftOldPrimary(replicas) ? 'clear' : 'failing over';
    } catch {
      return undefined;
    }
  }
}
