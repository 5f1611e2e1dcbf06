import { MikroORM, type QueryResult } from '@mikro-orm/mysql';
import { JwtService } from '@nestjs/jwt';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config/env.js';
import { ormOptions } from '../config/mikro-orm.js';
import { Pm2Cluster, testPort } from '../src/testing/cluster.js';
import { mint } from '../src/testing/fixtures.js';
import { HttpClient } from '../src/testing/http.js';
import { until } from '../src/testing/poll.js';
import { countEach } from '../src/testing/workers.js';
import { MemberRole } from '../src/members/member.entity.js';
import { steadyLoad } from './test/load.js';
import { LOAD_TEST_LIMITS, serverOf, TestNginx } from './test/nginx.js';

/**
 * The production topology on one machine: Nginx (rendered from the production template) in
 * front of two "servers", each a real PM2 cluster of dist/ with its own daemon and port, both
 * on the same MySQL and Redis.
 */
// Each server also runs its admin process (ecosystem.config.js's PICK_ADMIN_PORT) on its port + 5,
// the offset nginx's admin upstream is derived with here (deploy/lb.sh's ADMIN_PORT_OFFSET).
const ADMIN_PORT_OFFSET = 5;
const a = new Pm2Cluster({
  name: 'srv-a',
  port: testPort(10),
  adminPort: testPort(10 + ADMIN_PORT_OFFSET),
  instances: 2,
});
const b = new Pm2Cluster({
  name: 'srv-b',
  port: testPort(11),
  adminPort: testPort(11 + ADMIN_PORT_OFFSET),
  instances: 2,
});
// Plain HTTP (TLS: edge.e2e.ts); every request of the loads and the rush comes from 127.0.0.1, so the
// per-address limits are raised (what they do: edge.e2e.ts).
const nginx = new TestNginx('topology', testPort(20), [`127.0.0.1:${testPort(10)}`, `127.0.0.1:${testPort(11)}`], {
  render: LOAD_TEST_LIMITS,
  adminPortOffset: ADMIN_PORT_OFFSET,
});
const lb = new HttpClient(nginx.url);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Every process of a server: its workers and its PM2 daemon (the cluster master). */
async function killAll(cluster: Pm2Cluster): Promise<number[]> {
  const pids = (await cluster.workers()).map((w) => w.pid).filter((pid) => pid > 0);
  pids.push(Number(readFileSync(`${cluster.home}/pm2.pid`, 'utf8').trim()));
  execFileSync('kill', ['-9', ...pids.map(String)]);
  return pids;
}

describe('topology: nginx round-robin over two PM2 servers', () => {
  beforeAll(async () => {
    await Promise.all([a.start(), b.start()]);
    await nginx.start();
  }, 180_000);

  afterAll(async () => {
    await nginx.stop();
    await Promise.all([a.stop(), b.stop()]);
  });

  it('alternates requests between the servers and passes the request id through', async () => {
    const servers: string[] = [];
    for (let i = 0; i < 20; i++) {
      const response = await lb.get('/health/live');
      expect(response.status).toBe(200);
      servers.push(serverOf(response.headers.get('x-served-by')));
    }
    console.log(`[topology] 20 sequential GETs served by: ${servers.join(' ')}`);
    expect(servers.filter((s) => s === 'srv-a')).toHaveLength(10);
    expect(servers.filter((s) => s === 'srv-b')).toHaveLength(10);
    for (let i = 1; i < servers.length; i++) expect(servers[i]).not.toBe(servers[i - 1]);

    const given = await lb.request('GET', '/health/live', { headers: { 'x-request-id': 'topology-rid-1' } });
    expect(given.headers.get('x-request-id')).toBe('topology-rid-1');
    const generated = await lb.get('/health/live');
    expect(generated.headers.get('x-request-id')).toMatch(/^[0-9a-f]{32}$/);
    const bogus = await lb.request('GET', '/health/live', { headers: { 'x-request-id': 'bad id with spaces' } });
    expect(bogus.headers.get('x-request-id')).toMatch(/^[0-9a-f]{32}$/);

    // JSON is gzipped when the client accepts it (the OpenAPI document is well above gzip_min_length).
    const docs = await fetch(`${nginx.url}/docs-json`, { headers: { 'accept-encoding': 'gzip' } });
    await docs.arrayBuffer();
    expect(docs.status).toBe(200);
    expect(docs.headers.get('content-encoding')).toBe('gzip');
  });

  it("sends /api/admin/ to the servers' admin processes, and nothing else; with them down, to the workers", async () => {
    const [admin] = await mint(loadConfig(process.env), 1, MemberRole.ADMIN);
    const servedBy = async (path: string, times = 20, method = 'GET') => {
      const answers: string[] = [];
      for (let i = 0; i < times; i++) {
        const response = await lb.request(method, path, { token: admin.accessToken });
        answers.push(`${response.status} ${serverOf(response.headers.get('x-served-by'))}`);
      }
      return answers;
    };

    const adminRoute = await servedBy('/api/admin/sellers');
    const shopperRoute = await servedBy('/api/general/products');
    console.log(
      `[topology] /api/admin/sellers: ${JSON.stringify(countEach(adminRoute))}; /api/general/products: ${JSON.stringify(countEach(shopperRoute))}`,
    );
    expect(countEach(adminRoute)).toEqual({ '200 srv-a-admin': 10, '200 srv-b-admin': 10 });
    expect(countEach(shopperRoute)).toEqual({ '200 srv-a': 10, '200 srv-b': 10 });

    // Both admin processes stopped (a crash, an older release without them): the workers answer, no 502;
    // a write too (nothing reached the refused port, so nginx may try the next: a 404 from the app).
    await Promise.all([a.pm2('stop', 'srv-a-admin'), b.pm2('stop', 'srv-b-admin')]);
    const down = await servedBy('/api/admin/sellers');
    const write = await servedBy('/api/admin/members/999999999/ban', 4, 'POST');
    console.log(
      `[topology] admin processes stopped: ${JSON.stringify(countEach(down))}; POST ban: ${JSON.stringify(countEach(write))}`,
    );
    expect(down.every((answer) => /^200 srv-[ab]$/.test(answer))).toBe(true);
    expect(new Set(down)).toEqual(new Set(['200 srv-a', '200 srv-b']));
    expect(write.every((answer) => /^404 srv-[ab]$/.test(answer))).toBe(true);

    // Back: once nginx tries them again (fail_timeout, 5 s), the admin processes answer again.
    await Promise.all([a.pm2('start', 'srv-a-admin'), b.pm2('start', 'srv-b-admin')]);
    await Promise.all([
      a.waitReady(60_000, new HttpClient(a.adminUrl)),
      b.waitReady(60_000, new HttpClient(b.adminUrl)),
    ]);
    const back = await until(
      'admin processes serving again',
      () => servedBy('/api/admin/sellers', 4),
      (answers) => answers.every((answer) => /^200 srv-[ab]-admin$/.test(answer)),
      15_000,
      500,
    );
    expect(back).toHaveLength(4);
  }, 90_000);

  it('loses no GET while one server is reloaded and then every process of the other is killed -9', async () => {
    const load = steadyLoad(`${nginx.url}/api/general/products`, 8);
    await sleep(1500);
    const reloadStarted = Date.now();
    await a.pm2('reload', 'srv-a');
    await a.waitReady();
    const reloadMs = Date.now() - reloadStarted;
    // Settle for nginx's fail_timeout (5 s): the 503s of srv-a's draining workers made nginx
    // disable it for that long; with both servers disabled nginx answers 502 itself. deploy.sh
    // waits the same SETTLE_SECONDS before it touches the next server.
    await sleep(6000);
    const killed = await killAll(b);
    await sleep(4000);
    const report = await load.stop();
    console.log(
      `[topology] steady GET load: ${report.sent} requests sent, ${report.failed} failed; reload of srv-a took ${reloadMs} ms, ` +
        `then kill -9 of ${killed.length} srv-b processes; statuses ${JSON.stringify(report.statuses)}, served by ${JSON.stringify(report.byServer)}`,
    );
    expect(report.sent).toBeGreaterThan(100);
    expect(report.byServer['srv-b']).toBeGreaterThan(0);
    expect(report.failed).toBe(0);
    // srv-b is really gone: only srv-a answers now.
    const after = await lb.get('/health/live');
    expect(serverOf(after.headers.get('x-served-by'))).toBe('srv-a');
  }, 90_000);

  it('keeps the coupon invariants during a rush through nginx while one server reloads', async () => {
    await b.start(); // back from the kill of the previous test
    const config = loadConfig(process.env);
    const orm = await MikroORM.init(ormOptions(config));
    try {
      const db = orm.em.getConnection();
      const jwt = new JwtService({
        secret: config.JWT_ACCESS_SECRET,
        signOptions: { expiresIn: config.JWT_ACCESS_TTL_SECONDS, algorithm: 'HS256' },
      });
      const tag = Date.now().toString(36);
      const insertMember = async (index: number | string, role: string) =>
        db.execute<QueryResult>(
          'insert into member (created_at, updated_at, email, nickname, phone, name, address, password_hash, role) values (now(3), now(3), ?, ?, ?, ?, ?, ?, ?)',
          [
            `topo-${tag}-${index}@test.pick`,
            `t${tag}${index}`.slice(0, 30),
            `t${tag}-${index}`.slice(0, 20),
            'Topology',
            'Seoul',
            'x',
            role,
          ],
          'run',
        );
      const admin = await insertMember('admin', 'ADMIN');
      const adminToken = jwt.sign({ sub: String(admin.insertId), role: 'ADMIN', typ: 'access' });

      const stock = 200;
      const now = Date.now();
      const created = await lb.post(
        '/api/admin/events',
        {
          title: `topology rush ${tag}`,
          startsAt: new Date(now - 60_000).toISOString(),
          endsAt: new Date(now + 3_600_000).toISOString(),
          coupons: [
            {
              name: 'rush',
              discountType: 'FIXED_AMOUNT',
              discountValue: 1000,
              minimumProductPrice: 0,
              validFrom: new Date(now - 60_000).toISOString(),
              validUntil: new Date(now + 30 * 86_400_000).toISOString(),
              maxIssuance: stock,
            },
          ],
        },
        adminToken,
      );
      expect(created.status).toBe(201);
      const eventId = created.body.id;
      const couponId = created.body.coupons[0].id;

      const members: string[] = [];
      for (let i = 0; i < 300; i++) members.push(String((await insertMember(i, 'CUSTOMER')).insertId));
      const tokens = new Map(members.map((id) => [id, jwt.sign({ sub: id, role: 'CUSTOMER', typ: 'access' })]));

      // Each member claims twice (a double click): 600 POSTs from 20 paced clients, spread over
      // the reload of srv-a (which replaces its workers one at a time over several seconds).
      const claims = [...members, ...members].sort(() => Math.random() - 0.5);
      const statuses: Record<string, number> = {};
      const accepted: string[] = [];
      const during = { sent: 0, accepted: 0 };
      let reloading = false;
      let next = 0;
      const worker = async () => {
        while (next < claims.length) {
          const member = claims[next++];
          const inReload = reloading;
          if (inReload) during.sent++;
          try {
            const response = await lb.post(
              `/api/events/${eventId}/coupons/${couponId}/issue`,
              undefined,
              tokens.get(member),
            );
            statuses[response.status] = (statuses[response.status] ?? 0) + 1;
            if (response.status === 202) {
              accepted.push(member);
              if (inReload) during.accepted++;
            }
          } catch (error) {
            statuses[`error:${(error as Error).name}`] = (statuses[`error:${(error as Error).name}`] ?? 0) + 1;
          }
          await sleep(200);
        }
      };
      const reload = (async () => {
        reloading = true;
        await a.pm2('reload', 'srv-a');
        reloading = false;
      })();
      await Promise.all([...Array.from({ length: 20 }, worker), reload]);
      await a.waitReady();

      // Every 202 ends as a MySQL row: wait for the queue to drain. The wait stays below the
      // sweeper's pending bound (30 s): a claim whose job a reloading worker failed to enqueue
      // would only be rescued by the sweeper, and must fail this test.
      const rowsOf = async () =>
        (await db.execute('select member_id from member_coupon where coupon_id = ?', [couponId])) as {
          member_id: number | string;
        }[];
      let rows = await rowsOf();
      const deadline = Date.now() + 15_000;
      while (rows.length < accepted.length && Date.now() < deadline) {
        await sleep(250);
        rows = await rowsOf();
      }
      const rowMembers = rows.map((row) => String(row.member_id));
      console.log(
        `[topology] coupon rush: ${claims.length} claims through nginx, ${during.sent} sent (${during.accepted} accepted) while srv-a was reloading; statuses ${JSON.stringify(statuses)}; ` +
          `${accepted.length} accepted (202), ${rows.length} MySQL rows, stock ${stock}`,
      );
      expect(during.sent).toBeGreaterThan(0); // the rush really overlapped the reload
      expect(accepted.length).toBeGreaterThan(0);
      expect(accepted.length).toBeLessThanOrEqual(stock);
      expect(new Set(accepted).size).toBe(accepted.length); // never two 202s for one member
      expect(rows.length).toBeLessThanOrEqual(stock);
      expect(new Set(rowMembers).size).toBe(rowMembers.length); // no duplicate (coupon, member)
      expect(rowMembers.sort()).toEqual([...accepted].sort()); // every 202 persisted, nothing else
      expect(statuses['500'] ?? 0).toBe(0);
    } finally {
      await orm.close();
    }
  }, 120_000);
});
