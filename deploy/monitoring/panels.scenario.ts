import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { MikroORM } from '@mikro-orm/mysql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/env.js';
import { ormOptions } from '../../config/mikro-orm.js';
import { MemberRole } from '../../src/members/member.entity.js';
import { claimPlan, rush, tally, type ClaimOutcome } from '../../src/testing/claim-rush.js';
import { Pm2Cluster, testPort } from '../../src/testing/cluster.js';
import { createEvent, eventBody, mint } from '../../src/testing/fixtures.js';
import { freshGet } from '../../src/testing/http.js';
import { sleep, until } from '../../src/testing/poll.js';
import { TestPrometheus } from '../../src/testing/prometheus.js';
import { loadDashboard, PANELS_DIR, renderPanels, timeseriesPanels, type RenderedPanel } from './render-panels.js';

/**
 * `npm run monitoring:panels`: renders deploy/monitoring/panels/ (the dashboard's panels as SVG,
 * committed, shown in deploy/README.md) from a real Prometheus that scraped a real 2-worker PM2
 * cluster through a scenario: steady catalog traffic (list pages, product pages, a few 404s, a
 * few price edits that evict cached pages) for LOAD_SECONDS, and at RUSH_AT one coupon event's
 * rush of claims. A generator, not a test: `npm test` never runs it (config/vitest.config.ts);
 * its checks only make sure the images show something (claims accepted, rows persisted, one
 * non-empty SVG per panel).
 *
 * PICK_PANELS_LOAD_SECONDS: how long the traffic runs (default 180).
 */
const LOAD_SECONDS = Number(process.env.PICK_PANELS_LOAD_SECONDS ?? 180);
/** catalog GETs per second, each on a new connection so both workers get them */
const CATALOG_RATE = 8;
/** every 40th catalog GET asks for a product that does not exist (a 404 every 5 s) */
const NOT_FOUND_EVERY = 40;
/** seconds into the load: the event is created, then 5 s later its rush starts */
const RUSH_AT = Math.round(LOAD_SECONDS / 3);
const MEMBERS = 1_500;
const STOCK = 1_000;
const MAX_CLAIMS_PER_MEMBER = 3;
const RUSH_WAVES = 10;
const RUSH_GAP_MS = 500;
/** seconds into the load when an admin changes a product's price (evicts its page and the lists) */
const EDITS_AT = [0.25, 0.55, 0.85].map((f) => Math.round(f * LOAD_SECONDS));
/** the rendered range: 10 s of quiet either side of the load */
const MARGIN_SECONDS = 10;
const STEP_SECONDS = 2;

const JOB = 'pick';
const port = testPort(30);
const opsPort = testPort(32);
const promPort = testPort(35);
const workerTargets = [`127.0.0.1:${opsPort}`, `127.0.0.1:${opsPort + 1}`];
const root = new URL('../..', import.meta.url).pathname;
const LIST_QUERIES = ['', '?category=TOP', '?category=PANTS', '?category=SHOES', '?sort=LOW_PRICE', '?sort=HIGH_PRICE'];

describe('the dashboard panels, rendered from a real Prometheus scraping a 2-worker cluster', () => {
  const config = loadConfig({ ...process.env });
  const cluster = new Pm2Cluster({
    name: 'panels',
    port,
    instances: 2,
    env: { OPS_PORT: String(opsPort), OPS_HOST: '127.0.0.1' },
  });
  // Labelled like production's prometheus.yml, so the dashboard's `server` filter has something to match.
  const prometheus = new TestPrometheus({
    port: promPort,
    job: JOB,
    targets: workerTargets,
    labels: { server: 'app1' },
  });
  let productIds: number[] = [];

  beforeAll(async () => {
    // The demo catalog (200 products in 3 categories) in the run's test database.
    execFileSync(process.execPath, ['dist/src/cli/seed.js'], { cwd: root, env: process.env, stdio: 'ignore' });
    const orm = await MikroORM.init(ormOptions(config));
    try {
      const rows = (await orm.em.getConnection().execute('select id from product order by id')) as { id: number }[];
      productIds = rows.map((row) => Number(row.id));
    } finally {
      await orm.close(true);
    }
    await cluster.start();
    await prometheus.start();
    await prometheus.scrapedAfter(Date.now(), 30_000);
  }, 300_000);

  afterAll(async () => {
    await prometheus.stop();
    await cluster.stop();
  });

  it(
    `${LOAD_SECONDS} s of catalog traffic and a coupon rush, every timeseries panel rendered`,
    async () => {
      expect(productIds.length).toBeGreaterThanOrEqual(200);
      const [admin] = await mint(config, 1, MemberRole.ADMIN);
      const members = await mint(config, MEMBERS);
      const plan = claimPlan(members, MAX_CLAIMS_PER_MEMBER);

      const loadStart = Date.now();
      const start = loadStart / 1000 - MARGIN_SECONDS;
      const end = loadStart / 1000 + LOAD_SECONDS + MARGIN_SECONDS;
      const at = (seconds: number) => sleep(Math.max(0, loadStart + seconds * 1000 - Date.now()));

      // Catalog: CATALOG_RATE GETs a second on schedule, whatever the earlier ones take.
      const catalog = { list: 0, detail: 0, notFound: 0, statuses: {} as Record<string, number> };
      const catalogLoad = (async () => {
        const pending: Promise<void>[] = [];
        for (let i = 0; i < LOAD_SECONDS * CATALOG_RATE; i++) {
          await at(i / CATALOG_RATE);
          let path: string;
          if (i % NOT_FOUND_EVERY === NOT_FOUND_EVERY - 1) {
            path = '/api/general/products/999999999';
            catalog.notFound++;
          } else if (i % 5 < 3) {
            // Three in five are list pages (the hot path), so the two routes' lines do not overlap.
            path = `/api/general/products${LIST_QUERIES[i % LIST_QUERIES.length]}`;
            catalog.list++;
          } else {
            path = `/api/general/products/${productIds[(i * 7919) % productIds.length]}`;
            catalog.detail++;
          }
          pending.push(
            freshGet(`${cluster.url}${path}`).then(
              (answer) => void (catalog.statuses[answer.status] = (catalog.statuses[answer.status] ?? 0) + 1),
              (error: Error) =>
                void (catalog.statuses[error.message.slice(0, 60)] =
                  (catalog.statuses[error.message.slice(0, 60)] ?? 0) + 1),
            ),
          );
        }
        await Promise.all(pending);
      })();

      const edits = (async () => {
        let done = 0;
        for (const [n, second] of EDITS_AT.entries()) {
          await at(second);
          const id = productIds[n * 13];
          const edited = await cluster.http.patch(
            `/api/seller/products/${id}`,
            { price: 20_000 + n * 500 },
            admin.accessToken,
          );
          if (edited.status === 200) done++;
          else console.warn(`price edit of product ${id}: ${edited.status} ${JSON.stringify(edited.body)}`);
        }
        return done;
      })();

      const rushRun = (async () => {
        await at(RUSH_AT - 5);
        const { eventId, couponIds } = await createEvent(cluster.http, admin.accessToken, eventBody({ max: STOCK }));
        await at(RUSH_AT);
        const rushStart = Date.now();
        const outcomes = await rush(cluster.url, eventId, couponIds[0], plan, {
          waves: RUSH_WAVES,
          gapMs: RUSH_GAP_MS,
        });
        return { eventId, outcomes, seconds: (Date.now() - rushStart) / 1000 };
      })();

      const [, edited, claims] = await Promise.all([catalogLoad, edits, rushRun]);
      const counts = tally(claims.outcomes);
      const accepted = claims.outcomes.filter((o: ClaimOutcome) => o.status === 202).length;
      console.log(
        `catalog: ${JSON.stringify(catalog)}; price edits ${edited}; rush: ${plan.length} claims by ${MEMBERS} members in ${claims.seconds.toFixed(1)} s: ${JSON.stringify(counts)}`,
      );
      expect(accepted).toBe(STOCK);
      // Every claim accepted is persisted (the issuance queue drains into MySQL).
      const status = await until(
        'every accepted claim persisted',
        () => cluster.http.get(`/api/admin/events/${claims.eventId}/status`, admin.accessToken),
        (answer) => answer.status === 200 && answer.body.coupons[0].rows === STOCK,
        60_000,
        500,
      );
      console.log(`event status: ${JSON.stringify(status.body.coupons[0])}`);

      // Quiet until the range ends, then one more scrape of both workers.
      await at(LOAD_SECONDS + MARGIN_SECONDS);
      await prometheus.scrapedAfter(Date.now());

      const n = (count: number) => count.toLocaleString('en-US');
      const tallied = (counts: Record<string, number>) =>
        Object.entries(counts)
          .map(([key, count]) => `${n(count)} × ${key}`)
          .join(', ');
      const notes = [
        `What the scenario (\`deploy/monitoring/panels.scenario.ts\`) sent to 2 PM2 workers on one 2-core machine shared with other jobs,`,
        `each worker scraped by Prometheus every 1 s on its own metrics port (\`server="app1"\`), over ${LOAD_SECONDS} s from ${MARGIN_SECONDS} s on:`,
        '',
        `- catalog: ${n(catalog.list + catalog.detail + catalog.notFound)} GETs at ${CATALOG_RATE}/s, each on a new connection: ${n(catalog.list)} list pages (${LIST_QUERIES.length} variants), ` +
          `${n(catalog.detail)} product pages (${productIds.length} products), ${n(catalog.notFound)} for a product that does not exist; answered ${tallied(catalog.statuses)}`,
        `- ${edited} price edits by an admin at ${EDITS_AT.map((second) => `${second + MARGIN_SECONDS} s`).join(', ')} (each evicts that product's page and the list pages on both workers)`,
        `- one event, one coupon of ${n(STOCK)}: at ${RUSH_AT + MARGIN_SECONDS} s, ${n(plan.length)} claims by ${n(MEMBERS)} members ` +
          `(1-${MAX_CLAIMS_PER_MEMBER} each, ${RUSH_WAVES} waves ${RUSH_GAP_MS} ms apart), answered in ${claims.seconds.toFixed(1)} s: ${tallied(counts)}; ` +
          `${n(status.body.coupons[0].rows)} rows persisted`,
        '',
        "The dashboard's rates are over `[1m]` (cache hit ratio and the per-5-min panels over `[5m]`): a rush of a few",
        "seconds shows as a plateau about a minute wide whose height is the rush's count / 60.",
      ];

      const rendered = await renderPanels({ prometheus: prometheus.url, start, end, stepSeconds: STEP_SECONDS, notes });

      // One non-empty SVG file per timeseries panel.
      const expected = timeseriesPanels(loadDashboard()).map((ref) => ref.file);
      expect(rendered.map((panel) => panel.file)).toEqual(expected);
      for (const file of expected) {
        expect(existsSync(`${PANELS_DIR}/${file}`), file).toBe(true);
        const svg = readFileSync(`${PANELS_DIR}/${file}`, 'utf8');
        expect(svg, file).toMatch(/^<svg [^>]*>[\s\S]*<\/svg>\n$/);
      }
      const panel = (title: string) => rendered.find((p) => p.title === title)!;
      const peak = (p: RenderedPanel, name: string) =>
        Math.max(0, ...(p.series.find((s) => s.name === name)?.values.filter(Number.isFinite) ?? []));
      const drawn = rendered.filter((p) => p.series.some((s) => s.values.some(Number.isFinite)));
      console.log(
        `rendered ${rendered.length} panels into ${PANELS_DIR}; no data (as Grafana would say): ${rendered
          .filter((p) => !drawn.includes(p))
          .map((p) => p.title)
          .join('; ')}`,
      );
      for (const p of rendered)
        console.log(
          `  ${p.file}: ${p.series.map((s) => `${s.name} peak ${Math.max(0, ...s.values.filter(Number.isFinite)).toPrecision(3)}`).join(', ') || 'no data'}`,
        );

      const claimsByResult = panel('Claims by result /s');
      expect(peak(claimsByResult, 'accepted')).toBeGreaterThan(0);
      expect(peak(claimsByResult, 'sold_out')).toBeGreaterThan(0);
      expect(peak(panel('Rows persisted /s vs accepted /s'), 'persisted')).toBeGreaterThan(0);
      expect(peak(panel('Claim latency (POST issue)'), 'p99')).toBeGreaterThan(0);
      const catalogRoutes = panel('Catalog requests /s by route');
      expect(peak(catalogRoutes, '/api/general/products')).toBeGreaterThan(0);
      expect(peak(catalogRoutes, '/api/general/products/:id')).toBeGreaterThan(0);
      // The panels the scenario feeds, and every worker panel, have something to draw.
      for (const title of [
        'Catalog latency p99 by route',
        'Cache hit ratio',
        'Cache misses and coalesced loads /s',
        'Evictions /s by reason',
        'Ready',
        'Event loop lag p99',
        'Resident memory',
        'Heap used',
        'CPU',
        'Restarts (per hour)',
      ])
        expect(
          drawn.map((p) => p.title),
          title,
        ).toContain(title);
    },
    (LOAD_SECONDS + 2 * MARGIN_SECONDS + 300) * 1000,
  );
});
