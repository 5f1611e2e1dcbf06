import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';

const root = new URL('../..', import.meta.url).pathname;

export interface TestNginxOptions {
  /**
   * HTTPS on this loopback port (render.sh's TLS=on, what production runs) with a self-signed
   * certificate for localhost/127.0.0.1 made here by openssl (`caFile`); `port` then only redirects.
   * Without it: TLS=off, the site on plain HTTP on `port`.
   */
  tlsPort?: number;
  /** More render.sh settings (e.g. higher per-address limits for load tests sent from one address). */
  render?: Record<string, string>;
  /**
   * Each upstream's admin process is on its port + this (deploy/lb.sh's ADMIN_PORT_OFFSET, production:
   * 100); 0 (default here): no admin processes, /api/admin/ goes to the upstreams themselves.
   */
  adminPortOffset?: number;
}

/** render.sh settings for load tests: every request comes from 127.0.0.1, so the per-address limits are raised. */
export const LOAD_TEST_LIMITS = {
  AUTH_RATE: '10000r/s',
  AUTH_BURST: '10000',
  CLAIM_RATE: '10000r/s',
  CLAIM_BURST: '10000',
  CONN_LIMIT: '10000',
};

/**
 * A real nginx (Debian's package) on loopback, running deploy/nginx/pick.conf.template rendered
 * by deploy/nginx/render.sh: the production file, inside a minimal main config of its own.
 */
export class TestNginx {
  readonly dir: string;
  /** Where the site is served: https://localhost:<tlsPort> with TLS, else http://127.0.0.1:<port>. */
  readonly url: string;
  /** The plain HTTP listener (the site without TLS, the redirect with it). */
  readonly httpUrl: string;
  private child?: ChildProcess;

  constructor(
    readonly name: string,
    readonly port: number,
    readonly upstreams: string[],
    readonly options: TestNginxOptions = {},
  ) {
    this.dir = `${root}.local/nginx-${name}`;
    this.httpUrl = `http://127.0.0.1:${port}`;
    this.url = options.tlsPort ? `https://localhost:${options.tlsPort}` : this.httpUrl;
  }

  /** The self-signed certificate (PEM) to trust when TLS is on. */
  get caFile(): string {
    return `${this.dir}/tls.crt`;
  }

  get accessLog(): string {
    return `${this.dir}/access.log`;
  }

  async start(): Promise<this> {
    rmSync(this.dir, { recursive: true, force: true });
    mkdirSync(`${this.dir}/tmp`, { recursive: true });
    const tlsPort = this.options.tlsPort;
    if (tlsPort) {
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-days',
          '2',
          '-subj',
          '/CN=localhost',
          '-addext',
          'subjectAltName=DNS:localhost,IP:127.0.0.1',
          '-keyout',
          `${this.dir}/tls.key`,
          '-out',
          this.caFile,
        ],
        { stdio: 'pipe' },
      );
    }
    const env = {
      ...process.env,
      // The upstream files (render.sh includes them) and the admin offset (lb.sh's), as deploys see them.
      ...this.lbEnv(),
      UPSTREAMS: this.upstreams.join(' '),
      LISTEN: `127.0.0.1:${this.port}`,
      SERVER_NAME: 'localhost',
      ACCESS_LOG: this.accessLog,
      ...(tlsPort
        ? {
            TLS: 'on',
            TLS_LISTEN: `127.0.0.1:${tlsPort}`,
            TLS_CERT: this.caFile,
            TLS_KEY: `${this.dir}/tls.key`,
            ACME_ROOT: `${this.dir}/acme`,
          }
        : { TLS: 'off' }),
      ...this.options.render,
    };
    execFileSync('bash', [`${root}deploy/nginx/render.sh`, `${this.dir}/pick.conf`], { env });
    execFileSync('bash', [`${root}deploy/nginx/render.sh`, '--upstreams', this.upstreamFile], { env });
    // What provisioning does next: the admin upstream, derived from it.
    execFileSync('bash', [`${root}deploy/lb.sh`, 'sync'], { env });
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
    this.child = spawn(nginxBin(), ['-p', this.dir, '-c', `${this.dir}/nginx.conf`, '-g', 'daemon off;'], {
      stdio: 'ignore',
    });
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      try {
        await fetch(`${this.httpUrl}/nginx_status`);
        return this;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    throw new Error(`nginx did not start on ${this.port}`);
  }

  /**
   * One request on a new connection, over HTTPS trusting the test certificate when `url` is https
   * (fetch cannot be given a CA), else plain HTTP; redirects are not followed.
   */
  send(
    method: string,
    url: string,
    options: { headers?: Record<string, string>; body?: string | Buffer } = {},
  ): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
    const target = new URL(url);
    const secure = target.protocol === 'https:';
    return new Promise((resolve, reject) => {
      const request = (secure ? httpsRequest : httpRequest)(
        target,
        {
          method,
          headers: options.headers,
          agent: false,
          ...(secure && { ca: readFileSync(this.caFile) }),
          timeout: 15_000,
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () =>
            resolve({
              status: response.statusCode ?? 0,
              headers: response.headers,
              body: Buffer.concat(chunks).toString('utf8'),
            }),
          );
          response.on('error', reject);
        },
      );
      request.on('timeout', () => request.destroy(new Error(`${method} ${url}: timed out`)));
      request.on('error', reject);
      request.end(options.body);
    });
  }

  /** The upstream's server lines, switched by deploy/lb.sh. */
  get upstreamFile(): string {
    return `${this.dir}/upstreams.conf`;
  }

  /** The admin upstream's server lines, derived from the upstream's by deploy/lb.sh. */
  get adminUpstreamFile(): string {
    return `${this.dir}/admin-upstreams.conf`;
  }

  /** What deploy/lb.sh needs to switch this nginx's upstream (deploy.sh --lb local:...). */
  lbEnv(): Record<string, string> {
    return {
      UPSTREAM_FILE: this.upstreamFile,
      ADMIN_UPSTREAM_FILE: this.adminUpstreamFile,
      ADMIN_PORT_OFFSET: String(this.options.adminPortOffset ?? 0),
      NGINX: `${nginxBin()} -p ${this.dir} -c ${this.dir}/nginx.conf`,
      NGINX_PID: `${this.dir}/nginx.pid`,
    };
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

/** The nginx the deploy tests run: PICK_NGINX (another build, e.g. Ubuntu 20.04's 1.18), else the installed one. */
export function nginxBin(): string {
  if (process.env.PICK_NGINX) return process.env.PICK_NGINX;
  for (const candidate of ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/local/bin/nginx'])
    if (existsSync(candidate)) return candidate;
  throw new Error('nginx is not installed: apt-get install -y nginx-light (.ci/run does it)');
}

/** "host/srv-a/0" (x-served-by) → "srv-a". */
export function serverOf(servedBy: string | null): string {
  return servedBy?.split('/')[1] ?? 'none';
}
