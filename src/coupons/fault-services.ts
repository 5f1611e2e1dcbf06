import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { createConnection } from 'node:net';

const root = new URL('../..', import.meta.url).pathname;

async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what}: not ready after ${timeoutMs} ms`);
}

const portOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });

const exited = (child: ChildProcess) => new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));

/** Stops a leftover of an earlier aborted run: only the pid our own pid file names. */
function killStale(pidFile: string): void {
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  try {
    if (pid > 0) process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** A server process a fault test owns: it can be crashed (kill -9) or stopped cleanly. */
abstract class OwnServer {
  protected child?: ChildProcess;

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

/** A private MariaDB for fault tests (its own data dir and port), killed and restarted at will. */
export class OwnMariaDb extends OwnServer {
  readonly dir: string;

  constructor(readonly port: number) {
    super();
    this.dir = `${root}.local/mariadb-${port}`;
  }

  async start(): Promise<void> {
    mkdirSync(`${root}.local`, { recursive: true });
    killStale(`${this.dir}.pid`);
    await waitFor(async () => !(await portOpen(this.port)), 10_000, `port ${this.port} to be free`);
    if (!existsSync(`${this.dir}/mysql`)) {
      execFileSync('mariadb-install-db', ['--no-defaults', `--datadir=${this.dir}`, '--user=root', '--skip-test-db', '--auth-root-authentication-method=normal'], { stdio: 'ignore' });
    }
    const log = openSync(`${this.dir}.log`, 'a');
    this.child = spawn(
      '/usr/sbin/mariadbd',
      [
        '--no-defaults',
        `--datadir=${this.dir}`,
        `--port=${this.port}`,
        '--bind-address=127.0.0.1',
        `--socket=${this.dir}.sock`,
        `--pid-file=${this.dir}.pid`,
        '--user=root',
        '--skip-grant-tables',
        '--skip-log-bin',
        '--innodb-buffer-pool-size=64M',
        '--innodb-log-file-size=48M',
        '--max-connections=200',
      ],
      { stdio: ['ignore', log, log] },
    );
    await waitFor(() => portOpen(this.port), 30_000, `mariadbd on ${this.port}`);
  }

}

/** A private Redis with AOF (appendfsync always) in its own dir. */
export class OwnRedis extends OwnServer {
  readonly dir: string;

  /** `args`: more redis-server options, e.g. `['--aclfile', path]`. */
  constructor(
    readonly port: number,
    private readonly args: string[] = [],
  ) {
    super();
    this.dir = `${root}.local/redis-${port}`;
  }

  async start(options: { fresh?: boolean } = {}): Promise<void> {
    killStale(`${this.dir}/redis.pid`);
    if (options.fresh) execFileSync('rm', ['-rf', this.dir]);
    mkdirSync(this.dir, { recursive: true });
    if (await portOpen(this.port)) throw new Error(`port ${this.port} is taken: refusing to run a test against someone else's Redis`);
    const log = openSync(`${this.dir}/redis.log`, 'a');
    this.child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', '', '--pidfile', `${this.dir}/redis.pid`, '--daemonize', 'no', ...this.args],
      { stdio: ['ignore', log, log] },
    );
    await waitFor(() => portOpen(this.port), 15_000, `redis on ${this.port}`);
    const pong = () => {
      try {
        // With an ACL file the default user may be off: a NOAUTH answer also means Redis is up.
        return /PONG|NOAUTH|WRONGPASS/.test(execFileSync('redis-cli', ['-p', String(this.port), 'ping'], { stdio: ['ignore', 'pipe', 'pipe'] }).toString());
      } catch {
        return false;
      }
    };
    await waitFor(pong, 15_000, `redis on ${this.port} loading`);
  }

}
