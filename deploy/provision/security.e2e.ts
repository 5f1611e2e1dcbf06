import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BroadcastEvents } from '../../src/common/broadcast.js';
import { createEvent, eventBody } from '../../src/testing/fixtures.js';
import { OwnRedis } from '../../src/testing/own-services.js';
import { until } from '../../src/testing/poll.js';
import { testAdminToken } from '../../src/testing/admin.js';
import { startTestApp, type TestApp } from '../../src/testing/app.js';
import { testPort } from '../../src/testing/cluster.js';
import { testEnv } from '../../src/testing/test-env.js';

const root = new URL('../..', import.meta.url).pathname;
const render = (args: string[], env: Record<string, string>) =>
  spawnSync('bash', ['deploy/provision/security.sh', ...args], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
  });

describe('provisioning: rendered firewall rules', () => {
  const env = { OPS_SSH_RANGE: '203.0.113.0/24', APP_SERVERS: '10.0.0.11 10.0.0.12', NGINX_SERVERS: '10.0.0.10' };
  const rules = (tier: string) => {
    const result = render(['ufw', tier], env);
    expect(result.status, result.stderr).toBe(0);
    return result.stdout.trim().split('\n');
  };
  const allows = (lines: string[]) => lines.filter((line) => line.startsWith('ufw allow'));

  it('every tier denies incoming by default and lets SSH in from the ops range only', () => {
    for (const tier of ['app', 'nginx', 'mysql', 'redis']) {
      const lines = rules(tier);
      expect(lines.slice(0, 2)).toEqual(['ufw default deny incoming', 'ufw default allow outgoing']);
      expect(allows(lines).filter((line) => / port 22 /.test(line))).toEqual([
        "ufw allow proto tcp from 203.0.113.0/24 to any port 22 comment 'ssh from ops'",
      ]);
    }
  });

  it('MySQL and Redis only from the app servers; the app port only from Nginx; Nginx public on 80/443', () => {
    const only = (tier: string) => allows(rules(tier)).filter((line) => !/ port 22 /.test(line));
    expect(only('mysql')).toEqual(
      ['10.0.0.11', '10.0.0.12'].map(
        (ip) => `ufw allow proto tcp from ${ip} to any port 3306 comment 'mysql from app'`,
      ),
    );
    expect(only('redis')).toEqual(
      ['10.0.0.11', '10.0.0.12'].map(
        (ip) => `ufw allow proto tcp from ${ip} to any port 6379 comment 'redis from app'`,
      ),
    );
    expect(only('app')).toEqual([
      "ufw allow proto tcp from 10.0.0.10 to any port 3000:3001 comment 'app from nginx'",
      "ufw allow proto tcp from 10.0.0.10 to any port 3100:3101 comment 'app admin from nginx'",
    ]);
    expect(only('nginx').map((line) => line.replace(/ comment .*/, ''))).toEqual([
      'ufw allow proto tcp from any to any port 80',
      'ufw allow proto tcp from any to any port 443',
    ]);
  });

  it("the workers' metrics ports only from MONITORING_SERVERS, when given", () => {
    const result = render(['ufw', 'app'], { ...env, MONITORING_SERVERS: '10.0.0.30', OPS_WORKERS: '4' });
    expect(result.status, result.stderr).toBe(0);
    expect(allows(result.stdout.trim().split('\n')).filter((line) => /metrics/.test(line))).toEqual([
      "ufw allow proto tcp from 10.0.0.30 to any port 9464:9467 comment 'metrics from prometheus'",
    ]);
    expect(render(['ufw', 'app'], { ...env, MONITORING_SERVERS: '10.0.0.30;x' }).stderr).toContain(
      'MONITORING_SERVERS',
    );
  });

  it('refuses to render without the ops range, with a bad address or an unknown tier', () => {
    for (const [args, extra, message] of [
      [['ufw', 'app'], { OPS_SSH_RANGE: '' }, 'OPS_SSH_RANGE'],
      [['ufw', 'mysql'], { APP_SERVERS: '10.0.0.11;reboot' }, 'APP_SERVERS'],
      [['ufw', 'redis'], { OPS_SSH_RANGE: '0.0.0.0/0 any' }, 'OPS_SSH_RANGE'],
      [['ufw', 'db'], {}, 'unknown tier'],
    ] as const) {
      const result = render([...args], { ...env, ...extra });
      expect(result.status, JSON.stringify(extra)).not.toBe(0);
      expect(result.stderr).toContain(message);
    }
  });
});

/**
 * The rendered Redis ACL applied to a Redis of our own, and the rendered MySQL grants applied to
 * throwaway users of the shared MariaDB; then the real app runs with both restricted accounts:
 * everything it does works, and what the accounts must not do is refused.
 */
describe('provisioning: Redis ACL and MySQL grants, applied', () => {
  const prefix = testEnv().REDIS_PREFIX;
  const dbName = testEnv().DB_NAME;
  const tag = randomBytes(3).toString('hex');
  const secrets = { app: `app-${tag}-secret`, admin: `admin-${tag}-secret`, db: `db'${tag}`, migration: `mig-${tag}` };
  const users = { app: `pick_sec_app_${tag}`, migration: `pick_sec_mig_${tag}` };
  const redisPort = testPort(60);
  const dir = `${root}.local/security-${redisPort}`;
  let redis: OwnRedis;
  let t: TestApp | undefined;
  const mysqlAs = (user: string, password: string, sql: string) =>
    spawnSync('mysql', ['-h127.0.0.1', `-u${user}`, `-p${password}`, dbName, '-e', sql], { encoding: 'utf8' });
  // The tests' own login (root here; on a fresh machine the user `npm run up` made, allowed to create users).
  const asTestLogin = (args: string[], input?: string) =>
    execFileSync('mysql', ['-h127.0.0.1', `-u${process.env.DB_USER || 'root'}`, ...args], {
      input,
      env: { ...process.env, MYSQL_PWD: process.env.DB_PASSWORD ?? '' },
    });

  beforeAll(async () => {
    mkdirSync(dir, { recursive: true });
    const acl = render(['redis-acl'], {
      REDIS_PREFIX: prefix,
      REDIS_PASSWORD: secrets.app,
      REDIS_ADMIN_PASSWORD: secrets.admin,
    });
    expect(acl.status, acl.stderr).toBe(0);
    writeFileSync(`${dir}/users.acl`, acl.stdout);
    // DEBUG enabled in the server, so that only the ACL can refuse it (Redis 7 turns it off by default).
    redis = new OwnRedis(redisPort, {
      aof: false,
      args: ['--aclfile', `${dir}/users.acl`, '--enable-debug-command', 'yes'],
    });
    await redis.start({ fresh: true });
    const grants = render(['mysql-grants'], {
      DB_NAME: dbName,
      DB_USER: users.app,
      DB_PASSWORD: secrets.db,
      DB_MIGRATION_USER: users.migration,
      DB_MIGRATION_PASSWORD: secrets.migration,
      APP_HOSTS: '127.0.0.1 localhost',
    });
    expect(grants.status, grants.stderr).toBe(0);
    asTestLogin([], grants.stdout);
  }, 120_000);

  afterAll(async () => {
    await t?.close();
    await redis?.stop();
    for (const user of Object.values(users)) {
      for (const host of ['127.0.0.1', 'localhost']) asTestLogin(['-e', `drop user if exists '${user}'@'${host}'`]);
    }
  });

  it('the ACL lists exactly the broadcast channels the app uses', () => {
    const acl = render(['redis-acl'], {
      REDIS_PASSWORD: 'app-password-in-clear',
      REDIS_ADMIN_PASSWORD: 'admin-password-in-clear',
    }).stdout;
    const channels = [...acl.matchAll(/&([^\s*]+)(?=\s)/g)].map((m) => m[1]);
    expect(channels.sort()).toEqual(Object.values(BroadcastEvents).sort());
    expect(acl).toMatch(/^user pick on #[0-9a-f]{64} resetkeys ~pick:\* resetchannels &pick:\* /m);
    expect(acl).not.toContain('in-clear'); // passwords are stored hashed
    expect(acl).toMatch(/^user default off/m);
  });

  it('Redis: the app user reaches its prefix and channels only, and is refused FLUSHALL, FLUSHDB, CONFIG, KEYS, DEBUG', async () => {
    const app = new Redis({
      port: redisPort,
      username: 'pick',
      password: secrets.app,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
    });
    try {
      await app.connect();
      expect(await app.set(`${prefix}:probe`, '1')).toBe('OK');
      expect(await app.xadd(`${prefix}:probe-stream`, '*', 'k', 'v')).toMatch(/-/);
      expect(await app.publish(`${prefix}:bull:probe`, 'x')).toBe(0);
      expect(await app.publish(BroadcastEvents.PRODUCT_CHANGED, 'x')).toBe(0);
      const refused = async (what: string, command: () => Promise<unknown>) => {
        const error = await command().then(
          () => null,
          (e: Error) => e,
        );
        expect(error?.message, what).toMatch(/NOPERM/);
      };
      await refused('a key outside the prefix', () => app.set('other:probe', '1'));
      await refused('another channel', () => app.publish('other.channel', 'x'));
      await refused('FLUSHALL', () => app.flushall());
      await refused('FLUSHDB', () => app.flushdb());
      await refused('CONFIG', () => app.config('GET', 'maxmemory'));
      await refused('KEYS', () => app.keys('*'));
      await refused('DEBUG', () => app.call('DEBUG', 'SLEEP', '0'));
      await refused('SHUTDOWN', () => app.call('SHUTDOWN'));
      await refused('ACL', () => app.call('ACL', 'LIST'));
      // No password: the `default` user is off.
      const anonymous = spawnSync('redis-cli', ['-p', String(redisPort), 'get', `${prefix}:probe`], {
        encoding: 'utf8',
      });
      expect(anonymous.stdout + anonymous.stderr).toMatch(/NOAUTH/);
    } finally {
      app.disconnect();
    }
  });

  it('MySQL: the app user has data privileges only; the migration user changes the schema', () => {
    expect(mysqlAs(users.app, secrets.db, 'select count(*) from member').status).toBe(0);
    const dml = mysqlAs(
      users.app,
      secrets.db,
      "start transaction; select id from member order by id limit 1 for update; update member set updated_at = updated_at where id = 0; delete from member where id = 0; select get_lock('pick_sec_probe', 1); rollback;",
    );
    expect(dml.status, dml.stderr).toBe(0);
    for (const ddl of [
      'create table sec_probe (id int)',
      'alter table member add column sec_probe int',
      'drop table member_coupon',
      'create index sec_probe on member (name)',
      `create database ${dbName}_sec_probe`,
      `grant select on ${dbName}.* to '${users.migration}'@'127.0.0.1'`,
    ]) {
      const result = mysqlAs(users.app, secrets.db, ddl);
      expect(result.status, ddl).not.toBe(0);
      expect(result.stderr, ddl).toMatch(/denied/i);
    }
    const migration = mysqlAs(
      users.migration,
      secrets.migration,
      'create table sec_probe (id int primary key); alter table sec_probe add column n int; create index sec_probe_n on sec_probe (n); drop table sec_probe;',
    );
    expect(migration.status, migration.stderr).toBe(0);
  });

  it('the migration step connects as DB_MIGRATION_USER; the app user alone cannot run it', () => {
    const base = { ...process.env, DB_USER: users.app, DB_PASSWORD: secrets.db };
    const run = (env: NodeJS.ProcessEnv) =>
      spawnSync(process.execPath, ['dist/src/cli/migrate.js', 'up'], { cwd: root, env, encoding: 'utf8' });
    const withMigrationUser = run({
      ...base,
      DB_MIGRATION_USER: users.migration,
      DB_MIGRATION_PASSWORD: secrets.migration,
    });
    expect(withMigrationUser.status, withMigrationUser.stderr).toBe(0);
    expect(withMigrationUser.stdout).toContain('database is up to date');
    const appOnly = run(base);
    expect(appOnly.status).not.toBe(0);
    expect(appOnly.stdout + appOnly.stderr).toMatch(/denied/i);
  });

  it('the real app runs on both restricted accounts: sessions, claims through Bull, catalog broadcasts; nothing refused', async () => {
    const admins = new Redis({ port: redisPort, username: 'admin', password: secrets.admin, lazyConnect: true });
    await admins.connect();
    await admins.call('ACL', 'LOG', 'RESET'); // the refusals provoked above
    t = await startTestApp({
      REDIS_PORT: String(redisPort),
      REDIS_DB: '0',
      REDIS_USERNAME: 'pick',
      REDIS_PASSWORD: secrets.app,
      DB_USER: users.app,
      DB_PASSWORD: secrets.db,
      COUPON_SWEEP_INTERVAL_MS: '500',
    });
    expect((await t.http.get('/health/ready')).status).toBe(200);
    const member = await t.http.member('CUSTOMER');
    const rotated = await t.http.post('/api/auth/token/refresh', { refreshToken: member.refreshToken });
    expect(rotated.status).toBe(200);
    const seller = await t.http.member('SELLER');
    const product = await t.http.post(
      '/api/seller/products',
      { name: 'ACL shirt', price: 1000, description: 'x', stock: 1, category: 'TOP', status: 'IN_STOCK' },
      seller.accessToken,
    );
    expect(product.status).toBe(201);
    expect((await t.http.get(`/api/general/products/${product.body.id}`)).status).toBe(200);
    const admin = await testAdminToken();
    const { eventId, couponIds } = await createEvent(t.http, admin, eventBody({ max: 5 }));
    const path = `/api/events/${eventId}/coupons/${couponIds[0]}/issue`;
    expect((await t.http.post(path, undefined, rotated.body.accessToken)).status).toBe(202);
    await until(
      'claim persisted by Bull',
      () => t!.http.get(path, rotated.body.accessToken),
      (r) => r.body.status === 'ISSUED',
      15_000,
    );
    expect((await t.http.post('/api/auth/logout-all', undefined, rotated.body.accessToken)).status).toBe(204);
    await until(
      'token refused after logout-all',
      () => t!.http.get(path, rotated.body.accessToken),
      (r) => r.body?.code === 'SESSION_ENDED',
      5_000,
      20,
    );
    // Nothing the app did was refused by the ACL.
    try {
      expect(await admins.call('ACL', 'LOG')).toEqual([]);
    } finally {
      admins.disconnect();
    }
  });
});
