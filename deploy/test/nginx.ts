import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';

const root = new URL('../..', import.meta.url).pathname;

/**
 * A real nginx (Debian's package) on loopback, running deploy/nginx/pick.conf.template rendered
 * by deploy/nginx/render.sh: the production file, inside a minimal main config of its own.
 */
export class TestNginx {
  readonly dir: string;
  readonly url: string;
  private child?: ChildProcess;

  constructor(
    readonly name: string,
    readonly port: number,
    readonly upstreams: string[],
  ) {
    this.dir = `${root}.local/nginx-${name}`;
    this.url = `http://127.0.0.1:${port}`;
  }

  async start(): Promise<this> {
    rmSync(this.dir, { recursive: true, force: true });
    mkdirSync(`${this.dir}/tmp`, { recursive: true });
    const env = {
      ...process.env,
      UPSTREAMS: this.upstreams.join(' '),
      UPSTREAM_FILE: this.upstreamFile,
      LISTEN: `127.0.0.1:${this.port}`,
      SERVER_NAME: 'localhost',
      ACCESS_LOG: `${this.dir}/access.log`,
    };
    execFileSync('bash', [`${root}deploy/nginx/render.sh`, `${this.dir}/pick.conf`], { env });
    execFileSync('bash', [`${root}deploy/nginx/render.sh`, '--upstreams', this.upstreamFile], { env });
    const user = process.getuid?.() === 0 ? 'user root;' : '';
    writeFileSync(
      `${this.dir}/nginx.conf`,
      `${user}
worker_processes 1;
pid ${this.dir}/nginx.pid;
error_log ${this.dir}/error.log warn;
events { worker_connections 1024; }
http {
  client_body_temp_path ${this.dir}/tmp/body;
  proxy_temp_path ${this.dir}/tmp/proxy;
  fastcgi_temp_path ${this.dir}/tmp/fastcgi;
  uwsgi_temp_path ${this.dir}/tmp/uwsgi;
  scgi_temp_path ${this.dir}/tmp/scgi;
  include ${this.dir}/pick.conf;
}
`,
    );
    execFileSync(nginxBin(), ['-t', '-q', '-p', this.dir, '-c', `${this.dir}/nginx.conf`], { stdio: 'pipe' });
    this.child = spawn(nginxBin(), ['-p', this.dir, '-c', `${this.dir}/nginx.conf`, '-g', 'daemon off;'], { stdio: 'ignore' });
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      try {
        await fetch(`${this.url}/nginx_status`);
        return this;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    throw new Error(`nginx did not start on ${this.port}`);
  }

  /** The upstream's server lines, switched by deploy/lb.sh. */
  get upstreamFile(): string {
    return `${this.dir}/upstreams.conf`;
  }

  /** What deploy/lb.sh needs to switch this nginx's upstream (deploy.sh --lb local:...). */
  lbEnv(): Record<string, string> {
    return { UPSTREAM_FILE: this.upstreamFile, NGINX: `${nginxBin()} -p ${this.dir} -c ${this.dir}/nginx.conf`, NGINX_PID: `${this.dir}/nginx.pid` };
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}

export function nginxBin(): string {
  for (const candidate of ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/local/bin/nginx']) if (existsSync(candidate)) return candidate;
  throw new Error('nginx is not installed: apt-get install -y nginx-light (.ci/run does it)');
}

/** "host/srv-a/0" (x-served-by) → "srv-a". */
export function serverOf(servedBy: string | null): string {
  return servedBy?.split('/')[1] ?? 'none';
}
