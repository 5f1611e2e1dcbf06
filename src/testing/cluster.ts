import { execFile } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { promisify } from 'node:util';
import { HttpClient } from './http.js';

const run = promisify(execFile);
const root = new URL('../..', import.meta.url).pathname;
const pm2Bin = `${root}node_modules/pm2/bin/pm2`;

export interface ClusterOptions {
  /** PM2 process name, also the name of its private PM2_HOME. */
  name: string;
  port: number;
  instances?: number;
  /** Also start the admin process (`<name>-admin`, ecosystem.config.js's PICK_ADMIN_PORT) on this port. */
  adminPort?: number;
  env?: Record<string, string>;
}

/**
 * One "server": a real PM2 cluster running dist/ (what production runs), with its own
 * PM2 daemon (private PM2_HOME) so tests can reload or kill it without touching others.
 */
export class Pm2Cluster {
  readonly home: string;
  readonly http: HttpClient;
  readonly url: string;
  /** The admin process's URL (empty without `adminPort`). */
  readonly adminUrl: string;

  constructor(readonly options: ClusterOptions) {
    this.home = `${root}.pm2/test-${options.name}`;
    this.url = `http://127.0.0.1:${options.port}`;
    this.http = new HttpClient(this.url);
    this.adminUrl = options.adminPort ? `http://127.0.0.1:${options.adminPort}` : '';
  }

  private env(): NodeJS.ProcessEnv {
    return {
      ...process.env,
      PM2_HOME: this.home,
      PICK_APP_NAME: this.options.name,
      PICK_INSTANCES: String(this.options.instances ?? 2),
      HOST: '127.0.0.1',
      PORT: String(this.options.port),
      PICK_ADMIN_PORT: this.options.adminPort ? String(this.options.adminPort) : '',
      PATH: `${root}node_modules/.bin:${process.env.PATH}`,
      ...this.options.env,
    };
  }

  /** Runs a pm2 command against this cluster's daemon (on the project's Node). */
  async pm2(...args: string[]): Promise<string> {
    const { stdout } = await run(process.execPath, [pm2Bin, ...args], {
      cwd: root,
      env: this.env(),
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout;
  }

  async start(): Promise<this> {
    rmSync(this.home, { recursive: true, force: true });
    mkdirSync(this.home, { recursive: true });
    const only = this.options.adminPort ? `${this.options.name},${this.options.name}-admin` : this.options.name;
    await this.pm2('start', 'ecosystem.config.js', '--only', only, '--update-env');
    await this.waitReady();
    if (this.adminUrl) await this.waitReady(60_000, new HttpClient(this.adminUrl));
    return this;
  }

  /** The processes as PM2 reports them: the workers, and the admin process (`<name>-admin`) if started. */
  async workers(): Promise<{ name: string; pmId: number; pid: number; status: string }[]> {
    const list = JSON.parse(await this.pm2('jlist')) as {
      name: string;
      pm_id: number;
      pid: number;
      pm2_env: { status: string };
    }[];
    return list.map((p) => ({ name: p.name, pmId: p.pm_id, pid: p.pid, status: p.pm2_env.status }));
  }

  async waitReady(timeoutMs = 60_000, http = this.http): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      try {
        const result = await http.get('/health/ready');
        if (result.status === 200) return;
        last = JSON.stringify(result.body);
      } catch (error) {
        last = String(error);
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    throw new Error(
      `cluster ${this.options.name} (${http === this.http ? this.url : this.adminUrl}) not ready after ${timeoutMs} ms: ${last}\n${await this.logs().catch(() => '')}`,
    );
  }

  async logs(lines = 80): Promise<string> {
    return this.pm2('logs', '--nostream', '--lines', String(lines));
  }

  /**
   * Stops the workers and the private daemon. Then makes sure no worker outlived it: in a fresh
   * Debian container (`npm run test:fresh-machine`), workers of a stopped test cluster went on taking
   * the test queue's jobs, and the next files' "no processor" assertions failed. A worker left on
   * the shared test database and Redis prefix corrupts every later test, so it gets SIGKILL.
   */
  async stop(): Promise<void> {
    const pids = await this.workers()
      .then((workers) => workers.map((worker) => worker.pid).filter((pid) => pid > 0))
      .catch(() => [] as number[]);
    await this.pm2('kill').catch(() => undefined);
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    const deadline = Date.now() + 5_000;
    while (pids.some(alive) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    for (const pid of pids.filter(alive)) {
      console.warn(`[cluster ${this.options.name}] worker ${pid} outlived pm2 kill: SIGKILL`);
      process.kill(pid, 'SIGKILL');
    }
  }
}

/** A port for this checkout's tests: PICK_TEST_PORT_BASE + offset, so parallel checkouts do not collide. */
export function testPort(offset: number): number {
  return Number(process.env.PICK_TEST_PORT_BASE ?? 4100) + offset;
}
