import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Broadcasts } from '../../src/common/broadcast.js';
import { FailoverFence } from '../../src/redis/failover-fence.js';
import { redisOptions } from '../../src/redis/redis-options.js';
import { createEvent, eventBody } from '../../src/testing/fixtures.js';
import { OwnRedis, portOpen } from '../../src/testing/own-services.js';
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

  it("Redis with replicas: 6379 and the sentinels' 26379 also from the other Redis/sentinel hosts (REDIS_PEERS), not from itself", () => {
    const peers = { ...env, REDIS_PEERS: '10.0.0.21 10.0.0.22 10.0.0.23', PRIVATE_ADDRESS: '10.0.0.22' };
    const lines = (tier: string, extra: Record<string, string> = peers) => {
      const result = render(['ufw', tier], extra);
      expect(result.status, result.stderr).toBe(0);
      return allows(result.stdout.trim().split('\n')).filter((line) => !/ port 22 /.test(line));
    };
    for (const [tier, port] of [
      ['redis', 6379],
      ['sentinel', 26379],
    ] as const) {
      expect(lines(tier)).toEqual([
        `ufw allow proto tcp from 10.0.0.11 to any port ${port} comment '${tier} from app'`,
        `ufw allow proto tcp from 10.0.0.12 to any port ${port} comment '${tier} from app'`,
        `ufw allow proto tcp from 10.0.0.21 to any port ${port} comment '${tier} from redis peers'`,
        `ufw allow proto tcp from 10.0.0.23 to any port ${port} comment '${tier} from redis peers'`,
      ]);
    }
    expect(lines('sentinel', { ...peers, SENTINEL_PORT: '26380' })[0]).toContain('port 26380');
    // MySQL stays the app servers' only, on the host that also runs a replica and a sentinel.
    expect(lines('mysql').every((line) => /from 10\.0\.0\.1[12] .* 'mysql from app'$/.test(line))).toBe(true);
    const noPeers = render(['ufw', 'sentinel'], env);
    expect(noPeers.status).not.toBe(0);
    expect(noPeers.stderr).toContain('REDIS_PEERS');
    expect(render(['ufw', 'redis'], { ...peers, REDIS_PEERS: '10.0.0.21 10.0.0.0/8;x' }).stderr).toContain(
      'REDIS_PEERS',
    );
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
    expect(channels.sort()).toEqual(Object.values(Broadcasts).sort());
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
      expect(await app.publish(Broadcasts.PRODUCT_CHANGED, 'x')).toBe(0);
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
      'create procedure sec_probe() select 1',
      'drop procedure coupon_write_claims',
    ]) {
      const result = mysqlAs(users.app, secrets.db, ddl);
      expect(result.status, ddl).not.toBe(0);
      expect(result.stderr, ddl).toMatch(/denied/i);
    }
    const migration = mysqlAs(
      users.migration,
      secrets.migration,
      'create table sec_probe (id int primary key); alter table sec_probe add column n int; create index sec_probe_n on sec_probe (n); drop table sec_probe; create procedure sec_probe() select 1; drop procedure sec_probe;',
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

/**
 * Redis with replicas and Sentinel, as provisioned (redis-server.sh with REDIS_ROLE, redis-sentinel.sh):
 * a primary and two replicas (redis-1, redis-2 and the MySQL host's, all promotable), each a real
 * redis-server started from a main config that includes its rendered pick.conf (ACL file + replication
 * settings), and three real
 * sentinels started from their rendered config and ACL file, all on loopback ports of this test. What
 * the scripts do at a node's first run (REPLICAOF + CONFIG REWRITE) is done here the same way. Then:
 * every user does its job and nothing more, a kill -9 of the primary is failed over to a replica
 * with the app client following and nothing acknowledged lost, the old primary rejoins as a replica, and a primary whose
 * replicas stop acknowledging refuses writes. Nothing the replicas, the sentinels or the app did is in
 * any ACL LOG.
 */
describe('provisioning: Redis with replicas and Sentinel, applied', () => {
  // Ports of this file's own: PICK_TEST_PORT_BASE + 20040.. (26640.. with a base of 6600).
  const port = (i: number) => testPort(20_040 + i);
  // Where they stand in production (deploy/README.md): redis-1, redis-2 and the MySQL host.
  const nodes = { redis1: port(0), redis2: port(1), mysqlHost: port(2) };
  let primary = nodes.redis1; // which node is the primary, as the test moves it
  const sentinelPorts = [port(10), port(11), port(12)];
  const dir = `${root}.local/redis-ha-${nodes.redis1}`;
  const secret = (name: string) => `${name}-${randomBytes(12).toString('hex')}`;
  const secrets = {
    app: secret('app'),
    admin: secret('admin'),
    replication: secret('replication'),
    sentinelAuth: secret('sentinel-auth'),
    sentinelClient: secret('sentinel-client'),
    peer: secret('peer'),
  };
  const DOWN_AFTER_MS = 1_000; // production: 5000; the test's failover should not wait for it
  const haEnv = {
    PRIVATE_ADDRESS: '127.0.0.1',
    REDIS_PASSWORD: secrets.app,
    REDIS_ADMIN_PASSWORD: secrets.admin,
    REDIS_REPLICATION_PASSWORD: secrets.replication,
    SENTINEL_AUTH_PASSWORD: secrets.sentinelAuth,
    REDIS_SENTINEL_PASSWORD: secrets.sentinelClient,
    SENTINEL_PEER_PASSWORD: secrets.peer,
    REDIS_PRIMARY_ADDRESS: '127.0.0.1',
    REDIS_PRIMARY_PORT: String(nodes.redis1),
    SENTINEL_DOWN_AFTER_MS: String(DOWN_AFTER_MS),
  };
  const script = (file: string, args: string[], extra: Record<string, string> = {}) => {
    const result = spawnSync('bash', [`deploy/provision/${file}`, ...args], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', ...haEnv, ...extra },
      encoding: 'utf8',
    });
    expect(result.status, result.stderr).toBe(0);
    return result.stdout;
  };
  /** A function of redis-ha.sh, run by bash. */
  const haFunction = (call: string, args: string[], input?: string) =>
    spawnSync('bash', ['-c', `. deploy/provision/redis-ha.sh && ${call} "$@"`, 'ha', ...args], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '' },
      input,
      encoding: 'utf8',
    });
  const procs = new Map<number, ChildProcess>();
  const nodeConf = (p: number) => `${dir}/node-${p}.conf`;

  /** A redis-server (data node or sentinel) from its config file; refuses a port someone else holds. */
  async function startServer(p: number, args: string[]) {
    const pidFile = `${dir}/${p}.pid`;
    if (existsSync(pidFile)) {
      // A leftover of an aborted run of this file: only the pid our own pid file names.
      try {
        process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGKILL');
      } catch {
        // already gone
      }
      rmSync(pidFile, { force: true });
    }
    if (await portOpen(p)) throw new Error(`port ${p} is taken: refusing to run a test against someone else's Redis`);
    const log = openSync(`${dir}/${p}.log`, 'a');
    const child = spawn('redis-server', [...args, '--pidfile', pidFile], { stdio: ['ignore', log, log] });
    procs.set(p, child);
    await until(`redis-server on ${p}`, () => portOpen(p), Boolean, 15_000);
  }
  async function stopServer(p: number, signal: NodeJS.Signals = 'SIGKILL') {
    const child = procs.get(p);
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGCONT'); // a frozen one must be able to die
    child.kill(signal);
    await exited;
  }
  /** A data node: the main config (this test's port and files) includes its pick.conf, as in production. */
  async function startNode(p: number) {
    await startServer(p, [nodeConf(p)]);
  }
  function writeNode(p: number) {
    writeFileSync(
      `${dir}/node-${p}.pick.conf`,
      `aclfile ${dir}/users.acl\nappendonly yes\nappendfsync everysec\n` + script('redis-ha.sh', ['replication']),
    );
    mkdirSync(`${dir}/node-${p}`, { recursive: true });
    writeFileSync(
      nodeConf(p),
      `port ${p}\nbind 127.0.0.1\ndir ${dir}/node-${p}\nsave ""\nlogfile ""\ninclude ${dir}/node-${p}.pick.conf\n`,
    );
  }

  const clients: Redis[] = [];
  const fences: FailoverFence[] = [];
  const connect = async (p: number, username: string, password: string) => {
    const client = new Redis({
      port: p,
      username,
      password,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      enableReadyCheck: false, // INFO: only the app's and admin's on the data nodes
    });
    client.on('error', () => {}); // a refused or dropped connection is what some tests look for
    clients.push(client);
    await client.connect();
    return client;
  };
  const admin = (p: number) => connect(p, 'admin', secrets.admin);
  const error = (promise: Promise<unknown>) =>
    promise.then(
      () => '',
      (e: Error) => e.message,
    );
  /** `SENTINEL MASTER`/`REPLICAS` answers (flat key, value arrays) as objects. */
  const record = (flat: string[]) => Object.fromEntries(flat.flatMap((v, i) => (i % 2 ? [] : [[v, flat[i + 1]]])));
  const info = async (client: Redis, section: string) =>
    Object.fromEntries(
      (await client.info(section))
        .split('\r\n')
        .filter((line) => line.includes(':'))
        .map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1)]),
    );
  /** INFO over a connection of its own: Sentinel kills a node's clients when it changes the node's role. */
  const infoOf = async (p: number, section: string) => {
    const client = await admin(p);
    try {
      return await info(client, section);
    } finally {
      client.disconnect();
    }
  };
  const allPorts = [...Object.values(nodes), ...sentinelPorts];

  beforeAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    writeFileSync(`${dir}/users.acl`, script('security.sh', ['redis-acl']));
    writeFileSync(`${dir}/sentinel-users.acl`, script('security.sh', ['sentinel-acl']));
    for (const p of Object.values(nodes)) writeNode(p);
    await Promise.all(Object.values(nodes).map(startNode));
    // A replica's first run (redis-server.sh): REPLICAOF as admin, then CONFIG REWRITE records it.
    for (const p of [nodes.redis2, nodes.mysqlHost]) {
      const node = await admin(p);
      expect(await node.call('REPLICAOF', '127.0.0.1', String(nodes.redis1))).toMatch(/^OK/);
      expect(await node.call('CONFIG', 'REWRITE')).toBe('OK');
    }
    for (const p of sentinelPorts) {
      writeFileSync(
        `${dir}/sentinel-${p}.conf`,
        `bind 127.0.0.1\ndir ${dir}\nlogfile ""\naclfile ${dir}/sentinel-users.acl\n` +
          script('redis-ha.sh', ['sentinel-conf'], { SENTINEL_PORT: String(p) }),
      );
      // Debian's redis-server runs a sentinel with --sentinel (the redis-sentinel package: the same binary).
      await startServer(p, [`${dir}/sentinel-${p}.conf`, '--sentinel']);
    }
  }, 120_000);

  afterAll(async () => {
    for (const client of clients) client.disconnect();
    for (const fence of fences) await fence.onApplicationShutdown();
    for (const p of allPorts) await stopServer(p, 'SIGTERM');
  });

  it('renders the replication settings, the sentinel config and its SENTINEL SET twin; refuses weak or unquotable secrets', () => {
    const replication = script('redis-ha.sh', ['replication']);
    expect(replication).toContain('min-replicas-to-write 1\nmin-replicas-max-lag 3\n');
    expect(replication).toContain(`masteruser replica\nmasterauth ${secrets.replication}\n`);
    expect(replication).toContain('replica-priority 100\nreplica-announce-ip 127.0.0.1\n');
    const conf = script('redis-ha.sh', ['sentinel-conf']);
    expect(conf).toContain(`sentinel monitor pick 127.0.0.1 ${nodes.redis1} 2\n`);
    expect(conf).toContain(`sentinel down-after-milliseconds pick ${DOWN_AFTER_MS}\n`);
    expect(script('redis-ha.sh', ['sentinel-conf'], { SENTINEL_DOWN_AFTER_MS: '' })).toContain(
      'sentinel down-after-milliseconds pick 5000\nsentinel failover-timeout pick 30000\nsentinel parallel-syncs pick 1\n',
    );
    expect(conf).toContain('sentinel resolve-hostnames no\n');
    expect(conf).toContain(`sentinel auth-user pick sentinel\nsentinel auth-pass pick ${secrets.sentinelAuth}\n`);
    expect(conf).toContain(`sentinel sentinel-user sentinel-peer\nsentinel sentinel-pass ${secrets.peer}\n`);
    const set = script('redis-ha.sh', ['sentinel-set']);
    expect(set.trim().split('\n')).toEqual([
      'SENTINEL CONFIG SET resolve-hostnames no',
      'SENTINEL CONFIG SET announce-hostnames no',
      'SENTINEL CONFIG SET announce-ip 127.0.0.1',
      'SENTINEL CONFIG SET sentinel-user sentinel-peer',
      `SENTINEL CONFIG SET sentinel-pass ${secrets.peer}`,
      'SENTINEL SET pick quorum 2',
      `SENTINEL SET pick down-after-milliseconds ${DOWN_AFTER_MS}`,
      'SENTINEL SET pick failover-timeout 30000',
      'SENTINEL SET pick parallel-syncs 1',
      'SENTINEL SET pick auth-user sentinel',
      `SENTINEL SET pick auth-pass ${secrets.sentinelAuth}`,
    ]);
    // The ACL files hold hashes only.
    for (const file of ['users.acl', 'sentinel-users.acl']) {
      const acl = readFileSync(`${dir}/${file}`, 'utf8');
      for (const value of Object.values(secrets)) expect(acl, file).not.toContain(value);
      expect(acl, file).toMatch(/^user default off /m);
    }
    for (const [args, extra, message] of [
      [['replication'], { REDIS_REPLICATION_PASSWORD: 'short' }, 'REDIS_REPLICATION_PASSWORD'],
      [['replication'], { REDIS_REPLICATION_PASSWORD: 'sixteen chars and a space' }, 'REDIS_REPLICATION_PASSWORD'],
      [['sentinel-conf'], { SENTINEL_AUTH_PASSWORD: `"quoted"-${secrets.app}` }, 'SENTINEL_AUTH_PASSWORD'],
      [['sentinel-conf'], { REDIS_PRIMARY_ADDRESS: 'redis-1' }, 'REDIS_PRIMARY_ADDRESS'],
      [['sentinel-set'], { SENTINEL_QUORUM: 'two' }, 'SENTINEL_QUORUM'],
    ] as const) {
      const result = spawnSync('bash', ['deploy/provision/redis-ha.sh', ...args], {
        cwd: root,
        env: { PATH: process.env.PATH ?? '', ...haEnv, ...extra },
        encoding: 'utf8',
      });
      expect(result.status, JSON.stringify(extra)).not.toBe(0);
      expect(result.stderr).toContain(message);
    }
  });

  it('the replicas sync from the primary as `replica`; CONFIG REWRITE recorded the role, and the include goes back last', async () => {
    const primary = await admin(nodes.redis1);
    await until(
      'both replicas online',
      () => info(primary, 'replication'),
      (i) => i.connected_slaves === '2' && /state=online/.test(i.slave0) && /state=online/.test(i.slave1),
      15_000,
    );
    for (const p of [nodes.redis2, nodes.mysqlHost]) {
      const replication = await info(await admin(p), 'replication');
      expect(replication).toMatchObject({
        role: 'slave',
        master_port: String(nodes.redis1),
        master_link_status: 'up',
      });
      // Redis appended the role (and every other setting) after our include line…
      const main = readFileSync(nodeConf(p), 'utf8');
      expect(main).toContain(`replicaof 127.0.0.1 ${nodes.redis1}`);
      expect(main.indexOf('include ')).toBeLessThan(main.indexOf('replicaof '));
      // …and redis-server.sh moves the include back to the end, keeping the role.
      const moved = haFunction('ha_include_last', [`${dir}/node-${p}.pick.conf`], main);
      expect(moved.status, moved.stderr).toBe(0);
      const lines = moved.stdout.trim().split('\n');
      expect(lines.at(-1)).toBe(`include ${dir}/node-${p}.pick.conf`);
      expect(lines.filter((line) => line.startsWith('include '))).toHaveLength(1);
      expect(lines).toContain(`replicaof 127.0.0.1 ${nodes.redis1}`);
      writeFileSync(nodeConf(p), moved.stdout);
    }
  });

  it('the sentinels log in with their users: each sees the primary, both replicas and the other two', async () => {
    for (const p of sentinelPorts) {
      const sentinel = await connect(p, 'pick', secrets.sentinelClient);
      const master = await until(
        `sentinel ${p} sees 2 replicas and 2 other sentinels`,
        async () => record((await sentinel.call('SENTINEL', 'MASTER', 'pick')) as string[]),
        (m) => m['num-slaves'] === '2' && m['num-other-sentinels'] === '2',
        20_000,
      );
      expect(master).toMatchObject({ ip: '127.0.0.1', port: String(nodes.redis1), flags: 'master', quorum: '2' });
      const replicas = ((await sentinel.call('SENTINEL', 'REPLICAS', 'pick')) as string[][]).map(record);
      expect(replicas.map((r) => [Number(r.port), r.flags, r['slave-priority']]).sort()).toEqual(
        [
          [nodes.redis2, 'slave', '100'],
          [nodes.mysqlHost, 'slave', '100'],
        ].sort(),
      );
      // A sentinel's link to a peer it has just discovered may still read `disconnected` for a moment.
      const peersOf = async () =>
        ((await sentinel.call('SENTINEL', 'SENTINELS', 'pick')) as string[][])
          .map(record)
          .map((s) => [Number(s.port), s.flags])
          .sort();
      const peers = await until(
        `sentinel ${p} connected to the other two`,
        peersOf,
        (found) => found.every(([, flags]) => flags === 'sentinel'),
        10_000,
      ).catch(peersOf); // reported by the expectation below
      expect(peers).toEqual(sentinelPorts.filter((other) => other !== p).map((other) => [other, 'sentinel']));
      expect(await sentinel.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', 'pick')).toEqual([
        '127.0.0.1',
        String(nodes.redis1),
      ]);
    }
  });

  it("the app's user: WAIT is acknowledged by the replicas, a script reads INFO server; ROLE, CONFIG, REPLICAOF are refused", async () => {
    const app = await connect(nodes.redis1, 'pick', secrets.app);
    expect(await app.set('pick:ha-probe', '1')).toBe('OK');
    expect(await app.call('WAIT', '1', '1000')).toBeGreaterThanOrEqual(1);
    const server = (await app.eval("return redis.call('INFO', 'server')", 0)) as string;
    expect(server).toMatch(/^run_id:[0-9a-f]{40}/m);
    for (const [what, command] of [
      ['ROLE', () => app.call('ROLE')],
      ['CONFIG GET', () => app.config('GET', 'min-replicas-to-write')],
      ['REPLICAOF', () => app.call('REPLICAOF', 'NO', 'ONE')],
      ['SLAVEOF', () => app.call('SLAVEOF', 'NO', 'ONE')],
      ['FAILOVER', () => app.call('FAILOVER')],
      ['PSYNC', () => app.call('PSYNC', '?', '-1')],
    ] as const)
      expect(await error(command()), what).toMatch(/NOPERM/);
  });

  it('the replica and sentinel users reach no key and nothing beyond their job; on the sentinels the app may only look', async () => {
    for (const [user, password] of [
      ['replica', secrets.replication],
      ['sentinel', secrets.sentinelAuth],
    ]) {
      const other = await connect(nodes.redis1, user, password);
      expect(await error(other.get('pick:ha-probe')), `${user} GET`).toMatch(/NOPERM/);
      expect(await error(other.set('pick:ha-probe', 'x')), `${user} SET`).toMatch(/NOPERM/);
      expect(await error(other.call('KEYS', '*')), `${user} KEYS`).toMatch(/NOPERM/);
      expect(await error(other.flushall()), `${user} FLUSHALL`).toMatch(/NOPERM/);
      expect(await error(other.publish('coupon.changed', 'x')), `${user} PUBLISH`).toMatch(/NOPERM/);
      expect(await error(other.call('ACL', 'LIST')), `${user} ACL`).toMatch(/NOPERM/);
    }
    const replica = await connect(nodes.redis1, 'replica', secrets.replication);
    expect(await error(replica.info()), 'replica INFO').toMatch(/NOPERM/);
    expect(await error(replica.call('REPLICAOF', 'NO', 'ONE')), 'replica REPLICAOF').toMatch(/NOPERM/);
    // The app's user on the sentinels: where is the primary, and nothing that changes anything.
    const client = await connect(sentinelPorts[0], 'pick', secrets.sentinelClient);
    for (const args of [
      ['SENTINEL', 'FAILOVER', 'pick'],
      ['SENTINEL', 'SET', 'pick', 'quorum', '1'],
      ['SENTINEL', 'RESET', '*'],
      ['SENTINEL', 'REMOVE', 'pick'],
      ['SENTINEL', 'CONFIG', 'SET', 'announce-ip', '10.9.9.9'],
      ['SENTINEL', 'IS-MASTER-DOWN-BY-ADDR', '127.0.0.1', String(nodes.redis1), '0', '*'],
      ['PUBLISH', '__sentinel__:hello', 'x'],
      ['ACL', 'LIST'],
    ])
      expect(await error(client.call(args[0], ...args.slice(1))), args.join(' ')).toMatch(/NOPERM/);
    const peer = await connect(sentinelPorts[0], 'sentinel-peer', secrets.peer);
    expect(await error(peer.call('SENTINEL', 'MASTER', 'pick')), 'peer SENTINEL MASTER').toMatch(/NOPERM/);
    expect(await error(peer.call('SENTINEL', 'FAILOVER', 'pick')), 'peer SENTINEL FAILOVER').toMatch(/NOPERM/);
    // No password: the default user is off on the data nodes and the sentinels.
    for (const p of [nodes.redis1, sentinelPorts[0]]) {
      const anonymous = spawnSync('redis-cli', ['-p', String(p), 'ping'], { encoding: 'utf8' });
      expect(anonymous.stdout + anonymous.stderr, String(p)).toMatch(/NOAUTH/);
    }
    // What these probes provoked; from here on, the ACL LOGs must stay empty.
    for (const p of allPorts) expect(await (await admin(p)).call('ACL', 'LOG', 'RESET')).toBe('OK');
  });
  let app: Redis; // the app's way in: through the sentinels, as config REDIS_SENTINELS makes it
  it("the app's client finds the primary through the sentinels with their `pick` user (ioredis, failoverDetector)", async () => {
    // The app's own connection options (src/redis/redis-options.ts), as its settings would give them.
    app = new Redis({
      ...redisOptions({
        REDIS_HOST: '127.0.0.1',
        REDIS_PORT: 6379,
        REDIS_DB: 0,
        REDIS_SENTINELS: sentinelPorts.map((p) => `127.0.0.1:${p}`),
        REDIS_SENTINEL_MASTER: 'pick',
        REDIS_SENTINEL_USERNAME: 'pick',
        REDIS_SENTINEL_PASSWORD: secrets.sentinelClient,
        REDIS_USERNAME: 'pick',
        REDIS_PASSWORD: secrets.app,
      }),
      lazyConnect: true,
    });
    app.on('error', () => {});
    clients.push(app);
    await app.connect();
    expect(await app.set('pick:ha-before-kill', 'acknowledged')).toBe('OK');
    expect(await app.call('WAIT', '1', '1000')).toBeGreaterThanOrEqual(1);
    expect((await info(app, 'server')).tcp_port).toBe(String(nodes.redis1));
  });

  let promoted: number; // the replica Sentinel promoted
  let other: number; // the other one
  it('kill -9 of the primary: the sentinels promote a replica, which the other follows, and so does the app; the acknowledged write is there', async () => {
    const sentinel = await connect(sentinelPorts[1], 'pick', secrets.sentinelClient);
    // The app's failover fence, with the app's user on the sentinels: it hears the failover coming.
    const fence = new FailoverFence({
      REDIS_SENTINELS: sentinelPorts.map((p) => `127.0.0.1:${p}`),
      REDIS_SENTINEL_MASTER: 'pick',
      REDIS_SENTINEL_USERNAME: 'pick',
      REDIS_SENTINEL_PASSWORD: secrets.sentinelClient,
    });
    fence.onModuleInit();
    fences.push(fence);
    const killed = Date.now();
    await stopServer(nodes.redis1);
    const fenceUp = until('the failover fence up', () => fence.raised, Boolean, 30_000, 10).then(() => Date.now());
    const moved = await until(
      'the sentinels name a new primary',
      () => sentinel.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', 'pick') as Promise<string[]>,
      (address) => address[1] !== String(nodes.redis1),
      30_000,
      50,
    );
    const failoverMs = Date.now() - killed;
    // Up before the sentinels named the new primary: from the first sign (+odown, a vote), before any promotion.
    expect(await fenceUp).toBeLessThanOrEqual(Date.now());
    promoted = Number(moved[1]);
    // Equal priorities: Sentinel takes the replica with the most data (after a kill -9 both have all the
    // primary wrote, so either).
    expect([nodes.redis2, nodes.mysqlHost]).toContain(promoted);
    other = promoted === nodes.redis2 ? nodes.mysqlHost : nodes.redis2;
    primary = promoted;
    console.log(
      `failover: ${promoted} named the primary ${failoverMs} ms after the kill (down-after ${DOWN_AFTER_MS} ms)`,
    );
    expect(await infoOf(promoted, 'replication')).toMatchObject({ role: 'master' });
    // Sentinel's CONFIG REWRITE (its `sentinel` user may): the promoted node's file no longer says replicaof.
    await until(
      'the promoted node rewrote its config',
      () => readFileSync(nodeConf(promoted), 'utf8'),
      (text) => !text.includes('replicaof '),
      10_000,
    );
    await until(
      'the other replica follows the new primary',
      () => infoOf(other, 'replication'),
      (i) => i.master_port === String(promoted) && i.master_link_status === 'up',
      20_000,
    );
    // The app's client moved by itself, and the write WAIT acknowledged before the kill is there.
    const resumed = await until(
      "the app's client writes to the new primary",
      () => app.set('pick:ha-after-kill', '1').then(() => info(app, 'server')),
      (i) => i.tcp_port === String(promoted),
      30_000,
      100,
    );
    expect(resumed.tcp_port).toBe(String(promoted));
    console.log(`failover: the app's client wrote to the new primary ${Date.now() - killed} ms after the kill`);
    expect(await app.get('pick:ha-before-kill')).toBe('acknowledged');
    expect(await app.call('WAIT', '1', '1000')).toBeGreaterThanOrEqual(1);
    // Down again once the sentinels report the failover over (SENTINEL MASTER with the app's user).
    await until(
      'the failover fence down',
      () => fence.raised,
      (raised) => !raised,
      20_000,
      50,
    );
    console.log(
      `failover: the fence went up ${(await fenceUp) - killed} ms after the kill, down ${Date.now() - killed} ms after it`,
    );
  });

  /**
   * The primary the sentinels name now. Not always the one a step promoted: on a loaded machine a
   * sentinel may find the new primary slow past down-after (1 s here) and fail over once more, which is
   * Sentinel doing its job; each step checks against what the sentinels say, not against a remembered port.
   */
  const namedPrimary = async () => {
    const sentinel = await connect(sentinelPorts[0], 'pick', secrets.sentinelClient);
    const address = (await sentinel.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', 'pick')) as string[];
    sentinel.disconnect();
    return Number(address[1]);
  };

  it('the old primary, restarted from its own config, refuses writes until Sentinel has made it a replica of the new one', async () => {
    await startNode(nodes.redis1);
    const old = await admin(nodes.redis1);
    await until(
      'the old primary loaded',
      () => old.ping(),
      (pong) => pong === 'PONG',
      15_000,
    );
    // Whatever it still believes, it takes no write: no replica (min-replicas-to-write), or a replica.
    const writer = await connect(nodes.redis1, 'pick', secrets.app);
    expect(await error(writer.set('pick:ha-split', 'lost?'))).toMatch(/NOREPLICAS|READONLY/);
    // Sentinel converts it on an INFO round (every 10 s to a replica) once it has reported itself a
    // primary for 8 s: ~10-20 s.
    const rejoinedAt = Date.now();
    await until(
      'the old primary replicates from the primary the sentinels name',
      async () => ({ named: await namedPrimary(), info: await infoOf(nodes.redis1, 'replication') }),
      ({ named, info }) =>
        info.role === 'slave' && info.master_port === String(named) && info.master_link_status === 'up',
      45_000,
      200,
    );
    console.log(`old primary: a replica ${Date.now() - rejoinedAt} ms after its restart`);
    const named = await namedPrimary();
    if (named !== promoted) {
      console.log(`the sentinels failed over once more: ${promoted} -> ${named}`);
      promoted = named;
      other = promoted === nodes.redis2 ? nodes.mysqlHost : nodes.redis2;
      primary = promoted;
    }
    const rejoined = await admin(nodes.redis1);
    expect(await rejoined.get('pick:ha-split')).toBeNull();
    expect(await rejoined.get('pick:ha-after-kill')).toBe('1');
    // Sentinel recorded the new role in its file, so a restart keeps it.
    await until(
      "the old primary's config says replicaof",
      () => readFileSync(nodeConf(nodes.redis1), 'utf8'),
      (text) => text.includes(`replicaof 127.0.0.1 ${promoted}`),
      10_000,
    );
    const sentinel = await connect(sentinelPorts[2], 'pick', secrets.sentinelClient);
    const replicas = ((await sentinel.call('SENTINEL', 'REPLICAS', 'pick')) as string[][]).map(record);
    expect(replicas.map((r) => Number(r.port)).sort()).toEqual([nodes.redis1, other].sort());
  }, 90_000);

  it('split brain: a primary whose replicas stop acknowledging refuses writes (NOREPLICAS) after min-replicas-max-lag; WAIT answers 0 at once', async () => {
    const writer = await connect(primary, 'pick', secrets.app);
    expect(await writer.set('pick:ha-lag', '0')).toBe('OK');
    primary = await namedPrimary();
    const frozen = Object.values(nodes).filter((p) => p !== primary);
    for (const p of frozen) procs.get(p)!.kill('SIGSTOP');
    const cut = Date.now();
    try {
      expect(await writer.set('pick:ha-lag', '1')).toBe('OK');
      expect(await writer.call('WAIT', '1', '200')).toBe(0); // the app answers this claim 503
      const refused = await until(
        'writes refused',
        () => error(writer.set('pick:ha-lag', '2')),
        (message) => message !== '',
        15_000,
        100,
      );
      const refusedAfterMs = Date.now() - cut;
      console.log(`split brain: writes refused ${refusedAfterMs} ms after the replicas stopped (max lag 3 s)`);
      expect(refused).toMatch(/^NOREPLICAS/);
      expect(refusedAfterMs).toBeGreaterThan(2_000);
      expect(refusedAfterMs).toBeLessThan(6_000);
    } finally {
      for (const p of frozen) procs.get(p)!.kill('SIGCONT');
    }
    await until(
      'writes accepted again',
      () => writer.set('pick:ha-lag', '3'),
      (ok) => ok === 'OK',
      15_000,
    );
    expect(await writer.call('WAIT', '2', '2000')).toBe(2);
  });

  it('a planned switch (SENTINEL FAILOVER, admin): a replica is promoted at once, the app follows, the old primary becomes a replica', async () => {
    const sentinel = await admin(sentinelPorts[0]);
    const before = await namedPrimary();
    const asked = Date.now();
    expect(await sentinel.call('SENTINEL', 'FAILOVER', 'pick')).toBe('OK');
    const named = await until(
      'another primary is named',
      () => sentinel.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', 'pick') as Promise<string[]>,
      (address) => address[1] !== String(before),
      30_000,
      50,
    );
    const namedMs = Date.now() - asked;
    primary = Number(named[1]);
    expect(Object.values(nodes).filter((p) => p !== before)).toContain(primary);
    await until(
      "the app's client writes to it",
      () => app.set('pick:ha-switch', '1').then(() => info(app, 'server')),
      (i) => i.tcp_port === String(primary),
      30_000,
    );
    await until(
      'the demoted primary replicates from it',
      () => infoOf(before, 'replication'),
      (i) => i.role === 'slave' && i.master_port === String(primary) && i.master_link_status === 'up',
      30_000,
      200,
    );
    console.log(
      `planned switch: ${primary} named ${namedMs} ms, old primary a replica ${Date.now() - asked} ms after SENTINEL FAILOVER`,
    );
    expect(await app.call('WAIT', '2', '2000')).toBe(2);
    expect(await app.get('pick:ha-before-kill')).toBe('acknowledged');
  });

  it('nothing the replicas, the sentinels or the app did was refused: every ACL LOG is empty', async () => {
    for (const p of allPorts) expect(await (await admin(p)).call('ACL', 'LOG'), `ACL LOG of ${p}`).toEqual([]);
  });

  it("a re-run's changes: live settings with CONFIG SET and SENTINEL SET, a restart only for the rest", async () => {
    const before = `${dir}/node-${nodes.mysqlHost}.pick.conf`;
    const after = `${dir}/rerun.pick.conf`;
    writeFileSync(
      after,
      `aclfile ${dir}/users.acl\nappendonly yes\nappendfsync everysec\n` +
        script('redis-ha.sh', ['replication'], { REDIS_MIN_REPLICAS_MAX_LAG: '4' }),
    );
    const live = haFunction('ha_live_settings', [before, after]);
    expect(live.status, live.stderr).toBe(0);
    expect(live.stdout).toBe('CONFIG SET min-replicas-max-lag 4\n');
    const node = await admin(nodes.mysqlHost);
    expect(await node.call(...(live.stdout.trim().split(' ') as [string, ...string[]]))).toBe('OK');
    expect(await node.config('GET', 'min-replicas-max-lag')).toEqual(['min-replicas-max-lag', '4']);
    // What Redis cannot change live, or a line removed: a restart.
    writeFileSync(after, readFileSync(before, 'utf8').replace('aclfile ', 'aclfile /etc/other/'));
    expect(haFunction('ha_live_settings', [before, after]).status).toBe(1);
    writeFileSync(after, readFileSync(before, 'utf8').replace(/^repl-backlog-size .*\n/m, ''));
    expect(haFunction('ha_live_settings', [before, after]).status).toBe(1);
    // A running sentinel takes every setting from admin (as redis-sentinel.sh's re-runs do), and
    // writes it into its own file; the app's user may not.
    const commands = script('redis-ha.sh', ['sentinel-set'], { SENTINEL_DOWN_AFTER_MS: '1500' }).trim().split('\n');
    const sentinel = await admin(sentinelPorts[0]);
    for (const command of commands)
      expect(await sentinel.call(...(command.split(' ') as [string, ...string[]])), command).toBe('OK');
    expect(record((await sentinel.call('SENTINEL', 'MASTER', 'pick')) as string[])['down-after-milliseconds']).toBe(
      '1500',
    );
    const file = readFileSync(`${dir}/sentinel-${sentinelPorts[0]}.conf`, 'utf8');
    expect(file).toMatch(/^sentinel down-after-milliseconds pick 1500$/m);
    // Sentinel's own rewrite kept the line redis-sentinel.sh looks for to tell a first run from a re-run
    // (with the current primary).
    expect(file).toMatch(new RegExp(`^sentinel monitor pick 127\\.0\\.0\\.1 ${primary} 2$`, 'm'));
    expect(haFunction('ha_sentinel_monitors', [`${dir}/sentinel-${sentinelPorts[0]}.conf`, 'pick']).status).toBe(0);
    // The package's example file (it watches `mymaster`): a first run.
    writeFileSync(`${dir}/example.conf`, 'port 26379\nsentinel monitor mymaster 127.0.0.1 6379 2\n');
    expect(haFunction('ha_sentinel_monitors', [`${dir}/example.conf`, 'pick']).status).toBe(1);
    expect(haFunction('ha_sentinel_monitors', [`${dir}/missing.conf`, 'pick']).status).toBe(1);
    const client = await connect(sentinelPorts[0], 'pick', secrets.sentinelClient);
    expect(await error(client.call(...(commands[6].split(' ') as [string, ...string[]])))).toMatch(/NOPERM/);
  });
});
