import { execFileSync, spawn } from 'node:child_process';
import { Redis } from 'ioredis';
import { existsSync, mkdirSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { killStale, OwnRedis, OwnServer, portOpen } from './own-services.js';
import { until } from './poll.js';

/**
 * Production's Redis high availability on loopback, from Debian's redis-server: a primary, replicas and
 * three sentinels (quorum 2), every node with AOF (appendfsync everysec) and min-replicas-to-write 1, as
 * deploy/provision sets them up, with a short down-after so a failover takes ~2 s. Ports: the nodes on
 * `base`, `base + 1`, …, the sentinels on `sentinelBase`, `sentinelBase + 1`, `sentinelBase + 2`.
 */

const root = new URL('../..', import.meta.url).pathname;
export const SENTINEL_MASTER = 'pick';

/** A sentinel process a test owns. */
class OwnSentinel extends OwnServer {
  readonly dir: string;

  constructor(
    readonly port: number,
    private readonly primaryPort: number,
    private readonly downAfterMs: number,
  ) {
    super();
    this.dir = `${root}.local/sentinel-${port}`;
  }

  async start(): Promise<void> {
    killStale(`${this.dir}/sentinel.pid`);
    rmSync(this.dir, { recursive: true, force: true });
    mkdirSync(this.dir, { recursive: true });
    if (await portOpen(this.port)) throw new Error(`port ${this.port} is taken: refusing to run a sentinel there`);
    // Sentinel rewrites its file as it learns the topology: a fresh one for each start.
    writeFileSync(
      `${this.dir}/sentinel.conf`,
      [
        `port ${this.port}`,
        'bind 127.0.0.1',
        `dir ${this.dir}`,
        `pidfile ${this.dir}/sentinel.pid`,
        `sentinel monitor ${SENTINEL_MASTER} 127.0.0.1 ${this.primaryPort} 2`,
        `sentinel down-after-milliseconds ${SENTINEL_MASTER} ${this.downAfterMs}`,
        `sentinel failover-timeout ${SENTINEL_MASTER} 10000`,
        `sentinel parallel-syncs ${SENTINEL_MASTER} 1`,
        '',
      ].join('\n'),
    );
    const log = openSync(`${this.dir}/sentinel.log`, 'a');
    this.child = spawn('redis-server', [`${this.dir}/sentinel.conf`, '--sentinel'], { stdio: ['ignore', log, log] });
    await until(`sentinel on ${this.port}`, () => portOpen(this.port), Boolean, 15_000);
  }

  /** redis-cli against this sentinel; '' when it does not answer. */
  cli(...args: string[]): string {
    if (!this.running) return '';
    try {
      return execFileSync('redis-cli', ['-p', String(this.port), ...args], { timeout: 5_000 }).toString();
    } catch {
      return '';
    }
  }
}

export class OwnRedisHa {
  readonly nodes: OwnRedis[];
  readonly sentinels: OwnSentinel[];

  constructor(
    base: number,
    sentinelBase: number,
    options: { replicas?: number; downAfterMs?: number; minReplicasMaxLagSeconds?: number } = {},
  ) {
    const replicas = options.replicas ?? 2;
    // On every node (it matters only on the primary, whichever that is): a primary cut off from its
    // replicas for longer than the lag refuses writes (NOREPLICAS), so it cannot accept claims alone.
    const safety = [
      '--min-replicas-to-write',
      '1',
      '--min-replicas-max-lag',
      String(options.minReplicasMaxLagSeconds ?? 5),
      // As deploy/provision/redis-ha.sh: a full sync after a failover starts at once.
      '--repl-diskless-sync-delay',
      '0',
    ];
    this.nodes = Array.from(
      { length: 1 + replicas },
      (_, i) =>
        new OwnRedis(base + i, {
          aof: true,
          args: [...safety, ...(i === 0 ? [] : ['--replicaof', '127.0.0.1', String(base)])],
        }),
    );
    this.sentinels = [0, 1, 2].map((i) => new OwnSentinel(sentinelBase + i, base, options.downAfterMs ?? 1_000));
  }

  /** REDIS_SENTINELS for the app. */
  get sentinelAddresses(): string {
    return this.sentinels.map((sentinel) => `127.0.0.1:${sentinel.port}`).join(',');
  }

  async start(): Promise<void> {
    for (const node of this.nodes) await node.start({ fresh: true });
    await this.healthy();
    for (const sentinel of this.sentinels) await sentinel.start();
    // Each sentinel has found the replicas and the other sentinels (through the primary's hello channel).
    await until(
      'the sentinels to know the replicas and each other',
      () => this.sentinels.map((sentinel) => sentinel.cli('sentinel', 'master', SENTINEL_MASTER)),
      (answers) =>
        answers.every(
          (answer) =>
            fieldOf(answer, 'num-slaves') === String(this.nodes.length - 1) &&
            fieldOf(answer, 'num-other-sentinels') === String(this.sentinels.length - 1),
        ),
      30_000,
      200,
    );
  }

  async stop(): Promise<void> {
    for (const sentinel of this.sentinels) await sentinel.stop();
    for (const node of this.nodes) {
      node.thaw();
      await node.stop();
    }
  }

  /**
   * A partition of the replication links: every packet the primary sends its replicas is dropped (an
   * nftables rule on loopback; root, or sudo without a password) until the returned function restores them. Unlike a frozen replica,
   * whose kernel keeps receiving what the primary sends, a dropped packet is never delivered: the replicas
   * fall behind, as over a cut network, and what the primary writes meanwhile exists only on it.
   */
  cutReplication(primary: OwnRedis): () => void {
    if (!existsSync('/usr/sbin/nft')) throw new Error('cutReplication needs nftables (npm run up installs it)');
    // As root (CI), else through sudo without a password (a developer machine set up by npm run up).
    const ports = [...primary.cli('client', 'list', 'type', 'replica').matchAll(/ addr=127\.0\.0\.1:(\d+) /g)].map(
      (match) => match[1],
    );
    if (ports.length === 0) throw new Error(`no replica connected to ${primary.port}`);
    const table = `pick_test_${primary.port}`;
    const [command, ...prefix] = process.getuid?.() === 0 ? ['/usr/sbin/nft'] : ['sudo', '-n', '/usr/sbin/nft'];
    const nft = (...args: string[]) =>
      execFileSync(command, [...prefix, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
    nft('add', 'table', 'inet', table);
    nft('add', 'chain', 'inet', table, 'out', '{ type filter hook output priority 0; }');
    nft(
      'add',
      'rule',
      'inet',
      table,
      'out',
      'tcp',
      'sport',
      String(primary.port),
      'tcp',
      'dport',
      `{ ${ports.join(', ')} }`,
      'drop',
    );
    return () => nft('delete', 'table', 'inet', table);
  }

  /**
   * Subscribes to `channel` (a sentinel event: +odown, +failover-state-wait-promotion, …) on every
   * sentinel; once this resolves (subscribed), `next` resolves with the first message any of them
   * publishes, or rejects after `timeoutMs`; either way the subscriptions are closed.
   */
  async watch(channel: string, timeoutMs = 30_000): Promise<{ next: Promise<string> }> {
    const clients = this.sentinels.map((sentinel) => new Redis({ port: sentinel.port, lazyConnect: true }));
    let timer: NodeJS.Timeout | undefined;
    const next = new Promise<string>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`no sentinel published ${channel} within ${timeoutMs} ms`)), timeoutMs);
      for (const client of clients) client.on('message', (_channel: string, message: string) => resolve(message));
    }).finally(() => {
      clearTimeout(timer);
      clients.forEach((client) => client.disconnect());
    });
    next.catch(() => undefined); // awaited by the caller
    await Promise.all(clients.map(async (client) => (await client.connect(), await client.subscribe(channel))));
    return { next };
  }

  /** The node the sentinels name as the primary now. */
  primary(): OwnRedis {
    const sentinel = this.sentinels.find((candidate) => candidate.running) ?? this.sentinels[0];
    const [, port] = sentinel.cli('sentinel', 'get-master-addr-by-name', SENTINEL_MASTER).trim().split('\n');
    const node = this.nodes.find((candidate) => candidate.port === Number(port));
    if (!node) throw new Error(`no primary known to the sentinels (answer: ${port})`);
    return node;
  }

  /** Until every node runs and the primary has every other node as an online replica, in sync. */
  async healthy(timeoutMs = 30_000): Promise<OwnRedis> {
    for (const node of this.nodes) if (!node.running) await node.start();
    return until(
      'a primary with every replica online and in sync',
      () => {
        const primary = this.sentinels.some((sentinel) => sentinel.running) ? this.primary() : this.nodes[0];
        const info = primary.cli('info', 'replication');
        const online = [...info.matchAll(/^slave\d+:.*state=online,offset=(\d+)/gm)].map((match) => Number(match[1]));
        const offset = Number(fieldOf(info, 'master_repl_offset'));
        return fieldOf(info, 'role') === 'master' &&
          online.length === this.nodes.length - 1 &&
          online.every((o) => o === offset)
          ? primary
          : undefined;
      },
      (primary) => primary !== undefined,
      timeoutMs,
      200,
    ) as Promise<OwnRedis>;
  }
}

/** A field of INFO text, or of redis-cli's alternating name/value lines. */
function fieldOf(text: string, name: string): string | undefined {
  const info = new RegExp(`^${name}:(.*?)\\s*$`, 'm').exec(text)?.[1];
  if (info !== undefined) return info;
  const lines = text.split('\n').map((line) => line.trim());
  const at = lines.indexOf(name);
  return at >= 0 ? lines[at + 1] : undefined;
}
