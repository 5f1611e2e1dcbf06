import { Redis } from 'ioredis';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { userInfo } from 'node:os';
import { hasCommand } from './commands.js';
import { until } from './poll.js';

/**
 * Services a test owns (its own port and data dir), so it can crash or stop them without ever
 * touching the machine's shared MariaDB and Redis.
 */

const root = new URL('../..', import.meta.url).pathname;

export const portOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });

const exited = (child: ChildProcess) =>
  new Promise<void>((resolve) =>
    child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve()),
  );

/** Stops a leftover of an earlier aborted run: only the pid our own pid file names. */
export function killStale(pidFile: string): void {
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  try {
    if (pid > 0) process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** A server process a test owns: it can be crashed (kill -9) or stopped cleanly. */
export abstract class OwnServer {
  protected child?: ChildProcess;

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** kill -9: the service vanishes mid-flight, like a crash or a cut network. */
  async kill(): Promise<void> {
    await this.signal('SIGKILL');
  }

  async stop(): Promise<void> {
    await this.signal('SIGTERM');
  }

  private async signal(signal: NodeJS.Signals): Promise<void> {
    if (!this.child) return;
    this.child.kill(signal);
    await exited(this.child);
    this.child = undefined;
  }
}

/** A private MariaDB (its own data dir and port), killed and restarted at will. */
export class OwnMariaDb extends OwnServer {
  readonly dir: string;

  constructor(readonly port: number) {
    super();
    this.dir = `${root}.local/mariadb-${port}`;
  }

  async start(): Promise<void> {
    mkdirSync(`${root}.local`, { recursive: true });
    killStale(`${this.dir}.pid`);
    await until(
      `port ${this.port} to be free`,
      () => portOpen(this.port),
      (open) => !open,
      10_000,
    );
    if (!existsSync(`${this.dir}/mysql`)) {
      const base = ['--no-defaults', `--datadir=${this.dir}`, `--user=${userInfo().username}`];
      // MariaDB 10.4+ names it mariadb-install-db; 10.3 (Ubuntu 20.04) has only mysql_install_db,
      // which knows neither option (grants are skipped below anyway).
      if (hasCommand('mariadb-install-db'))
        execFileSync('mariadb-install-db', [...base, '--skip-test-db', '--auth-root-authentication-method=normal'], {
          stdio: 'ignore',
        });
      else execFileSync('mysql_install_db', base, { stdio: 'ignore' });
    }
    const log = openSync(`${this.dir}.log`, 'a');
    this.child = spawn(
      // 10.3 ships the server as mysqld only.
      existsSync('/usr/sbin/mariadbd') ? '/usr/sbin/mariadbd' : '/usr/sbin/mysqld',
      [
        '--no-defaults',
        `--datadir=${this.dir}`,
        `--port=${this.port}`,
        '--bind-address=127.0.0.1',
        `--socket=${this.dir}.sock`,
        `--pid-file=${this.dir}.pid`,
        `--user=${userInfo().username}`,
        '--skip-grant-tables',
        '--skip-log-bin',
        '--innodb-buffer-pool-size=64M',
        '--innodb-log-file-size=48M',
        '--max-connections=200',
      ],
      { stdio: ['ignore', log, log] },
    );
    await until(`mariadbd on ${this.port}`, () => portOpen(this.port), Boolean, 30_000);
  }
}

/**
 * Production's persistence (deploy/provision/redis-server.sh): AOF with appendfsync everysec. A kill -9
 * of the process loses nothing acknowledged (the AOF is written before the reply; only the fsync is
 * deferred, which matters to a machine crash). Durability tests run with it.
 */
export const PRODUCTION_REDIS_PERSISTENCE = ['--appendonly', 'yes', '--appendfsync', 'everysec'];

/**
 * A private Redis in its own dir. `aof`: production's persistence (AOF, appendfsync everysec), which
 * keeps what was acknowledged across a kill -9; without it a restart comes back empty, like a cache
 * server that lost its data.
 */
export class OwnRedis extends OwnServer {
  readonly dir: string;

  constructor(
    readonly port: number,
    /** `args`: more redis-server options, e.g. `['--aclfile', path]`. */
    private readonly options: { aof: boolean; args?: string[] } = { aof: true },
  ) {
    super();
    this.dir = `${root}.local/redis-${port}`;
  }

  async start(options: { fresh?: boolean } = {}): Promise<void> {
    killStale(`${this.dir}/redis.pid`);
    if (options.fresh) execFileSync('rm', ['-rf', this.dir]);
    mkdirSync(this.dir, { recursive: true });
    if (await portOpen(this.port))
      throw new Error(`port ${this.port} is taken: refusing to run a test against someone else's Redis`);
    const log = openSync(`${this.dir}/redis.log`, 'a');
    const persistence = this.options.aof ? PRODUCTION_REDIS_PERSISTENCE : ['--appendonly', 'no'];
    this.child = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--dir',
        this.dir,
        ...persistence,
        '--save',
        '',
        '--pidfile',
        `${this.dir}/redis.pid`,
        '--daemonize',
        'no',
        ...(this.options.args ?? []),
      ],
      { stdio: ['ignore', log, log] },
    );
    await until(`redis on ${this.port}`, () => portOpen(this.port), Boolean, 15_000);
    await until(
      `redis on ${this.port} loading`,
      () => this.cli('ping'),
      (out) => /PONG|NOAUTH/.test(out),
      15_000,
    ); // an ACL file may turn the default user off
  }

  /** SIGSTOP: the process is frozen (connections stay open, nothing is answered), as a hung primary. */
  freeze(): void {
    this.child?.kill('SIGSTOP');
  }

  thaw(): void {
    this.child?.kill('SIGCONT');
  }

  /**
   * A copy of the data on disk as of now (the AOF, taken while the process is frozen for the copy):
   * a backup, or what a replica that stopped receiving writes here would hold.
   */
  snapshot(name: string): void {
    this.freeze();
    try {
      execFileSync('rm', ['-rf', `${this.dir}.snapshot-${name}`]);
      execFileSync('cp', ['-a', `${this.dir}/appendonlydir`, `${this.dir}.snapshot-${name}`]);
    } finally {
      this.thaw();
    }
  }

  /**
   * Puts a snapshot's data in place of the current one (the server must be stopped): a restore from
   * backup. `from`: a snapshot another OwnRedis took.
   */
  restore(name: string, from: OwnRedis = this): void {
    if (this.running) throw new Error('restore: stop the server first');
    mkdirSync(this.dir, { recursive: true });
    execFileSync('rm', ['-rf', `${this.dir}/appendonlydir`]);
    execFileSync('cp', ['-a', `${from.dir}.snapshot-${name}`, `${this.dir}/appendonlydir`]);
  }

  /**
   * A test's own client of this server, connected, that outlives the server's kills and restarts: its
   * errors are expected (the test kills the server on purpose) and its commands wait for the server.
   */
  async client(): Promise<Redis> {
    const redis = new Redis({ port: this.port, maxRetriesPerRequest: null, lazyConnect: true });
    redis.on('error', () => undefined);
    await redis.connect();
    return redis;
  }

  /** redis-cli against this server; '' when it does not answer. */
  cli(...args: string[]): string {
    try {
      return execFileSync('redis-cli', ['-p', String(this.port), ...args], { timeout: 5_000 }).toString();
    } catch {
      return '';
    }
  }
}
