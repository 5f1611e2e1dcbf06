import { MikroORM } from '@mikro-orm/mysql';
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/env.js';
import { ormOptions } from '../../config/mikro-orm.js';
import { claimPlan, tally, type ClaimOutcome } from '../../src/testing/claim-rush.js';
import { createEvent, eventBody, mint } from '../../src/testing/fixtures.js';
import { waitForDrainAndCheck } from '../../src/testing/invariants.js';
import { MemberRole } from '../../src/members/member.entity.js';
import { testPort } from '../../src/testing/cluster.js';
import { freshRequest, HttpClient } from '../../src/testing/http.js';
import { countEach } from '../../src/testing/workers.js';
import { steadyLoad } from '../test/load.js';
import { LOAD_TEST_LIMITS, serverOf, TestNginx } from '../test/nginx.js';

/**
 * The release as production runs it: the project's Dockerfile built with buildah against a
 * local Debian bookworm base with the project's Node 24, two "app servers" (each a pair of
 * blue/green host ports, containers run by deploy/server.sh through podman, host network)
 * behind Debian's nginx rendered from the production template, driven by deploy/deploy.sh in
 * local mode. Test MariaDB and Redis: own database and key prefix.
 */
const root = new URL('../..', import.meta.url).pathname;
const run = promisify(execFile);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const docker = `${root}deploy/container/podman-docker.sh`;
const base = testPort(0);
const prefix = `pick-image-test-${base}`;
const image = (tag: string) => `localhost/${prefix}:${tag}`;
const work = `${root}.local/image-test`;
const servers = [
  // opsPort: the metrics listeners (OPS_PORT + worker, then the admin process's), shared by a server's
  // blue and green slots. Each slot's admin process listens on its port + 100 (server.sh's
  // ADMIN_PORT_OFFSET), which the app refuses within 256 above OPS_PORT: the metrics ports lie above.
  { name: 'srv-a', dir: `${work}/${prefix}-a`, ports: [testPort(60), testPort(61)], opsPort: testPort(600) },
  { name: 'srv-b', dir: `${work}/${prefix}-b`, ports: [testPort(62), testPort(63)], opsPort: testPort(603) },
];
const targets = servers.map((s) => `local:${s.dir}:${s.ports[0]}:${s.ports[1]}`);
// Plain HTTP, per-address limits raised: every request of the loads and the rush comes from 127.0.0.1.
const nginx = new TestNginx(
  'image',
  testPort(64),
  servers.map((s) => `127.0.0.1:${s.ports[0]}`),
  { render: LOAD_TEST_LIMITS, adminPortOffset: 100 },
);
const lb = new HttpClient(nginx.url);
const secrets = {
  JWT_ACCESS_SECRET: randomBytes(24).toString('hex'),
  JWT_REFRESH_SECRET: randomBytes(24).toString('hex'),
  OPS_TOKEN: randomBytes(24).toString('hex'),
};
const config = loadConfig({ ...process.env, ...secrets });
const timings: Record<string, string> = {};

function podman(...args: string[]): string {
  return execFileSync(docker, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

async function deploy(readyTimeoutS: number, ...args: string[]): Promise<{ code: number; output: string; ms: number }> {
  const started = Date.now();
  // READY_TIMEOUT: the readiness gate per server (the broken v3 fails it; 30 s is enough for that). NOFILE=host: without CAP_SYS_RESOURCE, podman
  // cannot apply an explicit --ulimit here (it also sets nproc); Docker Engine on a server does.
  const env = {
    ...process.env,
    ...nginx.lbEnv(),
    DOCKER: docker,
    READY_TIMEOUT: String(readyTimeoutS),
    NOFILE: 'host',
    PRODUCTION_TAG: image('production'),
  };
  try {
    const { stdout, stderr } = await run('bash', [`${root}deploy/deploy.sh`, ...args, '--lb', 'local', ...targets], {
      env,
      maxBuffer: 16 << 20,
    });
    return { code: 0, output: stdout + stderr, ms: Date.now() - started };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, output: e.stdout + e.stderr, ms: Date.now() - started };
  }
}

const state = (server: (typeof servers)[number], file: string) => readFileSync(`${server.dir}/${file}`, 'utf8').trim();
const liveContainer = (server: (typeof servers)[number]) =>
  `${prefix}-${server.name.slice(-1)}-${state(server, 'live')}`;
const imageId = (ref: string) => podman('image', 'inspect', '--format', '{{.Id}}', ref);

async function ready(port: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const status = await fetch(`http://127.0.0.1:${port}/health/ready`).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) return;
    await sleep(250);
  }
  throw new Error(`port ${port} not ready`);
}

function removeOurContainers(): void {
  const names = podman('ps', '-a', '--format', '{{.Names}}')
    .split('\n')
    .filter((n) => n.startsWith(`${prefix}-`));
  if (names.length > 0) podman('rm', '-f', '-t', '0', ...names);
}

describe('the image is the release: containers behind nginx, rolled by deploy.sh', () => {
  beforeAll(async () => {
    // podman, buildah, runc... from Debian when this machine has none yet (a fresh CI machine): before
    // the first podman call below, not only in build-image.sh.
    await run('bash', ['-c', `. ${root}deploy/container/podman-env.sh && pick_podman_install`], {
      maxBuffer: 16 << 20,
    });
    // Our containers and the images earlier runs left untagged (the store is a cache kept between runs).
    removeOurContainers();
    podman('image', 'prune', '--force');
    const started = Date.now();
    await run('bash', [`${root}deploy/container/build-image.sh`, image('v1'), 'v1'], { maxBuffer: 16 << 20 });
    timings.buildV1 = `${Date.now() - started} ms`;
    // v2: the same build as another release (its own image id, revision label and PICK_RELEASE). The
    // Dockerfile is what v1 proved; building it twice would only double the test's slowest step.
    const v2Started = Date.now();
    const derive = async (tag: string, dir: string, containerfile: string, files: Record<string, string> = {}) => {
      mkdirSync(`${work}/${dir}`, { recursive: true });
      for (const [name, text] of Object.entries(files)) writeFileSync(`${work}/${dir}/${name}`, text);
      writeFileSync(`${work}/${dir}/Containerfile`, containerfile);
      await run('bash', [
        '-c',
        `. ${root}deploy/container/podman-env.sh && buildah build --quiet --layers=false --format docker -t ${image(tag)} ${work}/${dir} >/dev/null`,
      ]);
    };
    await derive('v2', 'v2', `FROM ${image('v1')}\nLABEL org.opencontainers.image.revision=v2\nENV PICK_RELEASE=v2\n`);
    timings.buildV2 = `${Date.now() - v2Started} ms (from v1)`;
    // v3: v2 with an entry point that exits at once, so its workers never become ready.
    await derive('v3', 'broken', `FROM ${image('v2')}\nCOPY main.js /app/dist/src/main.js\n`, {
      'main.js': 'console.error("v3 refuses to boot"); process.exit(1);\n',
    });
    timings.imageSize = `${(Number(podman('image', 'inspect', '--format', '{{.Size}}', image('v1'))) / 1e6).toFixed(0)} MB`;
    console.log(`[image] built in ${JSON.stringify(timings)}`);

    removeOurContainers();
    for (const server of servers) {
      rmSync(server.dir, { recursive: true, force: true });
      mkdirSync(server.dir, { recursive: true });
      const settings: Record<string, string | undefined> = {
        NODE_ENV: 'production',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'info',
        PICK_INSTANCES: '2',
        PICK_APP_NAME: server.name,
        OPS_PORT: String(server.opsPort),
        // x-served-by (off by default in production): the test counts which server answered.
        SERVED_BY_HEADER: 'true',
        DB_DRIVER: process.env.DB_DRIVER,
        DB_NAME: process.env.DB_NAME,
        // The tests' MariaDB login (root here; the user `npm run up` made on a fresh machine).
        DB_USER: process.env.DB_USER,
        DB_PASSWORD: process.env.DB_PASSWORD,
        REDIS_DB: process.env.REDIS_DB,
        REDIS_PREFIX: process.env.REDIS_PREFIX,
        // The machine's shared test Redis: one process, no AOF, no replica. Production's (deploy/provision)
        // has both, and these two stay at their production defaults there (AOF required, 1 replica).
        REDIS_REQUIRE_AOF: 'false',
        REDIS_CLAIM_REPLICAS: '0',
        S3_ENDPOINT: process.env.S3_ENDPOINT,
        S3_BUCKET: process.env.S3_BUCKET,
        CDN_BASE_URL: process.env.CDN_BASE_URL,
        ...secrets,
      };
      writeFileSync(
        `${server.dir}/.env`,
        Object.entries(settings)
          .map(([k, v]) => `${k}=${v ?? ''}`)
          .join('\n') + '\n',
        { mode: 0o600 },
      );
    }
    // An empty database (the deploy's migration step, from the image, creates the schema) and no stale keys.
    execFileSync(
      'mysql',
      [
        '-h',
        '127.0.0.1',
        `-u${process.env.DB_USER || 'root'}`,
        '-e',
        `drop database if exists \`${process.env.DB_NAME}\`; create database \`${process.env.DB_NAME}\``,
      ],
      { env: { ...process.env, MYSQL_PWD: process.env.DB_PASSWORD ?? '' } },
    );
    const redis = new Redis({ host: '127.0.0.1', db: Number(process.env.REDIS_DB) });
    const keys = await redis.keys(`${process.env.REDIS_PREFIX}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
    await nginx.start();
  }, 1_800_000);

  afterAll(async () => {
    await nginx.stop();
    removeOurContainers();
  });

  it('first deploy: migrations from the image, both servers up as the non-root user with their PM2 workers', async () => {
    const first = await deploy(90, '--image', image('v1'));
    console.log(`[image] first deploy of v1 in ${first.ms} ms`);
    expect(first.code, first.output).toBe(0);
    expect(first.output.split('\n').filter((l) => l.includes('migrations from'))).toHaveLength(1);
    for (const server of servers) {
      const container = liveContainer(server);
      expect((await fetch(`http://127.0.0.1:${server.ports[0]}/health/ready`)).status).toBe(200);
      expect(podman('exec', container, 'id', '-u')).toBe('1000');
      // Every process of the app (pm2-runtime and its workers) runs as `node`; PID 1 is the init.
      const top = podman('top', container, 'user', 'pid', 'args').split('\n').slice(1);
      console.log(`[image] ${container} processes:\n${top.join('\n')}`);
      expect(top.filter((l) => /pm2|main\.js|node /.test(l)).every((l) => l.trim().startsWith('node'))).toBe(true);
      expect(podman('exec', container, 'cat', '/proc/1/comm')).toMatch(/catatonit|podman-init|tini|docker-init/);
      const pm2 = podman('exec', container, 'pm2', 'ls');
      console.log(`[image] ${container}: pm2 ls\n${pm2}`);
      // Two workers and the admin process.
      expect(pm2.match(/online/g)).toHaveLength(3);
      expect(pm2).toContain(`${server.name}-admin`);
      // The code is root's and read-only for the runtime user.
      expect(() => podman('exec', container, 'touch', '/app/dist/src/main.js')).toThrow();
      expect(podman('inspect', '--format', '{{.Config.Healthcheck.Test}}', container)).toContain('/health/live');
      expect(podman('inspect', '--format', '{{.Config.StopSignal}}', container)).toMatch(/15|SIGTERM/);
      expect(podman('logs', '--tail', '50', container)).toContain('listening on');
    }
    expect(imageId(image('production'))).toBe(imageId(image('v1')));
    const served = new Set<string>();
    for (let i = 0; i < 8; i++) served.add(serverOf((await lb.get('/health/live')).headers.get('x-served-by')));
    expect([...served].sort()).toEqual(['srv-a', 'srv-b']);
    // /api/admin/ reaches the admin processes (nginx's admin upstream, derived by lb.sh).
    const [admin] = await mint(config, 1, MemberRole.ADMIN);
    const adminServed = new Set<string>();
    for (let i = 0; i < 8; i++) {
      const response = await lb.get('/api/admin/sellers', admin.accessToken);
      expect(response.status).toBe(200);
      adminServed.add(serverOf(response.headers.get('x-served-by')));
    }
    expect([...adminServed].sort()).toEqual(['srv-a-admin', 'srv-b-admin']);
  });

  it('`podman stop` of a server under a steady GET load drains its workers: 0 failed', async () => {
    const server = servers[0];
    const container = liveContainer(server);
    const load = steadyLoad(`${nginx.url}/api/general/products`, 8, { freshConnections: true });
    await sleep(2000);
    const started = Date.now();
    podman('stop', '-t', '45', container);
    const stopMs = Date.now() - started;
    await sleep(2000);
    const report = await load.stop();
    const exitCode = podman('inspect', '--format', '{{.State.ExitCode}}', container);
    console.log(
      `[image] podman stop of ${container} under load took ${stopMs} ms (exit code ${exitCode}); ${report.sent} GETs, ${report.failed} failed; ${JSON.stringify(report.statuses)} ${JSON.stringify(report.byServer)}`,
    );
    expect(report.byServer['srv-a']).toBeGreaterThan(0);
    expect(report.failed).toBe(0);
    expect(exitCode).toBe('0'); // graceful: pm2-runtime stopped its workers, no SIGKILL
    podman('start', container);
    await ready(server.ports[0]);
  }, 120_000);

  it('rolls v1 -> v2 through a GET load and a coupon rush: 0 failed GETs, 0 failed claims, invariants hold', async () => {
    const [admin] = await mint(config, 1, MemberRole.ADMIN);
    const members = await mint(config, 400);
    const stock = 250;
    const { eventId, couponIds } = await createEvent(lb, admin.accessToken, eventBody({ max: stock }));
    const plan = claimPlan(members, 2);
    const outcomes: (ClaimOutcome & { during: boolean })[] = [];
    let deploying = true;
    let paced = true;
    let next = 0;
    const claimer = async () => {
      while (next < plan.length) {
        const member = plan[next++];
        const during = deploying;
        // A new connection per claim (freshRequest): nginx reloads twice during the deploy.
        try {
          const response = await freshRequest<{ code?: string }>(
            'POST',
            `${nginx.url}/api/events/${eventId}/coupons/${couponIds[0]}/issue`,
            { headers: { authorization: `Bearer ${member.accessToken}` } },
          );
          outcomes.push({
            memberId: member.id,
            status: response.status,
            code: response.body?.code,
            servedBy: response.servedBy,
            during,
          });
        } catch (error) {
          outcomes.push({ memberId: member.id, status: 0, error: String(error), during });
        }
        if (paced) await sleep(700);
      }
    };
    const load = steadyLoad(`${nginx.url}/api/general/products`, 6, { freshConnections: true });
    const claimers = Array.from({ length: 8 }, claimer);
    // An admin watches the event's live status through the release (each slot's admin process).
    const adminPolls: string[] = [];
    const adminPoller = (async () => {
      while (deploying) {
        try {
          const response = await freshRequest('GET', `${nginx.url}/api/admin/events/${eventId}/status`, {
            headers: { authorization: `Bearer ${admin.accessToken}` },
          });
          adminPolls.push(`${response.status} ${serverOf(response.servedBy)}`);
        } catch (error) {
          adminPolls.push(`error ${String(error)}`);
        }
        await sleep(250);
      }
    })();
    const second = await deploy(90, '--image', image('v2'));
    deploying = false;
    await adminPoller;
    paced = false; // the rest of the rush at once, so the stock runs out
    await Promise.all(claimers);
    const report = await load.stop();

    const perServer = second.output
      .split('\n')
      .filter((l) => /ready on .* in \d+s/.test(l))
      .map((l) => l.replace(/^.*deploy: /, ''));
    const duringDeploy = outcomes.filter((o) => o.during);
    const failedClaims = outcomes.filter((o) => o.status !== 202 && o.status !== 409);
    const orm = await MikroORM.init(ormOptions(config));
    const redis = new Redis({ host: '127.0.0.1', db: Number(process.env.REDIS_DB) });
    try {
      const connection = orm.em.getConnection();
      const check = await waitForDrainAndCheck(
        (sql, params) => connection.execute(sql, params),
        redis,
        config.REDIS_PREFIX,
        couponIds[0],
        outcomes,
        30_000,
      );
      console.log(
        `[image] deploy v1 -> v2 in ${second.ms} ms (${perServer.join('; ')}); GETs: ${report.sent} sent, ${report.failed} failed ${JSON.stringify(report.statuses)} ${JSON.stringify(report.byServer)}; ` +
          `claims: ${outcomes.length} (${duringDeploy.length} during the deploy, ${duringDeploy.filter((o) => o.status === 202).length} accepted then) ${JSON.stringify(tally(outcomes))}, ${failedClaims.length} failed; ` +
          `202s ${check.accepted202}, rows ${check.rows}, distinct members ${check.distinctMembers}, stock ${stock}; ` +
          `admin status polls: ${JSON.stringify(countEach(adminPolls))}`,
      );
      expect(adminPolls.length).toBeGreaterThan(20);
      expect(adminPolls.filter((poll) => !/^200 srv-[ab]-admin$/.test(poll))).toEqual([]);
      expect(second.code, second.output).toBe(0);
      expect(perServer).toHaveLength(2);
      expect(report.failed).toBe(0);
      expect(failedClaims).toEqual([]);
      expect(duringDeploy.length).toBeGreaterThan(0);
      expect(check.accepted202).toBe(stock);
      expect(check.rows).toBe(stock);
      expect(check.distinctMembers).toBe(stock);
      expect(check.missing202).toEqual([]);
      expect(check.pending).toBe(0);
    } finally {
      await redis.quit();
      await orm.close(true);
    }
    for (const server of servers) {
      expect(state(server, 'current-image')).toBe(image('v2'));
      expect(state(server, 'previous-image')).toBe(image('v1'));
      expect(podman('inspect', '--format', '{{.ImageName}}', liveContainer(server))).toBe(image('v2'));
      expect(podman('exec', liveContainer(server), 'printenv', 'PICK_RELEASE')).toBe('v2');
      // one container per server: the old slot was stopped and removed
      expect(
        podman('ps', '-a', '--format', '{{.Names}}')
          .split('\n')
          .filter((n) => n.startsWith(`${prefix}-${server.name.slice(-1)}-`)),
      ).toHaveLength(1);
    }
    expect(imageId(image('production'))).toBe(imageId(image('v2')));
  }, 600_000);

  it('a release that fails readiness (v3) is never switched to: v2 keeps serving, production stays on v2', async () => {
    const load = steadyLoad(`${nginx.url}/api/general/products`, 4, { freshConnections: true });
    const third = await deploy(30, '--image', image('v3'));
    const report = await load.stop();
    console.log(
      `[image] broken v3: exit ${third.code} after ${third.ms} ms; ${third.output
        .split('\n')
        .filter((l) => /FAILED|NOT ready|back to/.test(l))
        .join(' | ')}; GETs meanwhile ${report.sent}, ${report.failed} failed`,
    );
    expect(third.code).toBe(1);
    expect(third.output).toContain('FAILED the readiness gate');
    expect(report.failed).toBe(0);
    for (const server of servers) {
      expect(state(server, 'current-image')).toBe(image('v2'));
      expect(podman('inspect', '--format', '{{.ImageName}}', liveContainer(server))).toBe(image('v2'));
      expect(
        (await fetch(`http://127.0.0.1:${server.ports[state(server, 'live') === 'blue' ? 0 : 1]}/health/ready`)).status,
      ).toBe(200);
    }
    expect(imageId(image('production'))).toBe(imageId(image('v2')));
    expect((await lb.get('/health/ready')).status).toBe(200);
  }, 600_000);
});
