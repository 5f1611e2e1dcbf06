import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { load } from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/env.js';
import { metricsRegistry } from '../../src/metrics/metrics.js';
import { startTestApp, type TestApp } from '../../src/testing/app.js';

/**
 * deploy/monitoring: the Prometheus config and alert rules pass promtool (syntax, and a unit test per
 * alert that fires and one that does not), and every query of the rules and of the Grafana dashboard
 * names only metrics the app exports (names read from the registry of a running app).
 */
const dir = new URL('.', import.meta.url).pathname;

interface Rule {
  alert: string;
  expr: string;
}
interface AlertTest {
  alert_rule_test: { alertname: string; exp_alerts: unknown[] }[];
}
interface DashboardPanel {
  type: string;
  title: string;
  targets?: { expr: string }[];
}

function promtool(...args: string[]) {
  const result = spawnSync('promtool', args, { cwd: dir, encoding: 'utf8' });
  expect(result.error, 'promtool is not installed (apt-get install prometheus; .ci/run does it)').toBeUndefined();
  return { status: result.status, output: result.stdout + result.stderr };
}

const rules = (load(readFileSync(`${dir}alerts.yml`, 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap(
  (group) => group.rules,
);
const dashboard = JSON.parse(readFileSync(`${dir}grafana-dashboard.json`, 'utf8')) as {
  panels: DashboardPanel[];
  templating: { list: { query: { query: string } }[] };
};
const dashboardQueries = [
  ...dashboard.panels.flatMap((panel) =>
    (panel.targets ?? []).map((target) => ({ where: `dashboard panel "${panel.title}"`, expr: target.expr })),
  ),
  ...dashboard.templating.list.map((variable) => ({
    where: 'dashboard variable',
    expr: variable.query.query.replace(/^label_values\((.*), \w+\)$/, '$1'),
  })),
];
const alertQueries = rules.map((rule) => ({ where: `alert ${rule.alert}`, expr: rule.expr }));
/** Series Prometheus makes itself, not the app. */
const PROMETHEUS_OWN = new Set(['up']);

describe('deploy/monitoring', () => {
  it('prometheus.yml passes promtool check config (and its rule file with it)', () => {
    const { status, output } = promtool('check', 'config', 'prometheus.yml');
    expect(output).toMatch(/SUCCESS: \d+ rules found/);
    expect(status, output).toBe(0);
  });

  it("scrapes each worker port from the default OPS_PORT up, and the admin process's after them", () => {
    const targets = [...readFileSync(`${dir}prometheus.yml`, 'utf8').matchAll(/'([\d.]+):(\d+)'/g)];
    const ports = new Set(targets.map((target) => Number(target[2])));
    const first = loadConfig({}).OPS_PORT;
    expect([...ports].sort()).toEqual([first, first + 1, first + 2]);
  });

  it('every alert has a promtool unit test that fires and one that does not; promtool test rules passes', () => {
    const tests = (load(readFileSync(`${dir}alerts.test.yml`, 'utf8')) as { tests: AlertTest[] }).tests.flatMap(
      (test) => test.alert_rule_test,
    );
    for (const rule of rules) {
      const cases = tests.filter((test) => test.alertname === rule.alert);
      expect(
        cases.some((test) => test.exp_alerts.length > 0),
        `${rule.alert}: a case where it fires`,
      ).toBe(true);
      expect(
        cases.some((test) => test.exp_alerts.length === 0),
        `${rule.alert}: a case where it does not fire`,
      ).toBe(true);
    }
    const { status, output } = promtool('test', 'rules', 'alerts.test.yml');
    expect(status, output).toBe(0);
    expect(output).toMatch(/SUCCESS/);
  });

  it('every dashboard query is valid PromQL (promtool parses each as a recording rule)', () => {
    const scratch = mkdtempSync(`${tmpdir()}/pick-dashboard-`);
    try {
      const recording = dashboardQueries
        .map((query, i) => `      - record: dashboard:query_${i}\n        expr: ${JSON.stringify(query.expr)}`)
        .join('\n');
      writeFileSync(`${scratch}/dashboard-rules.yml`, `groups:\n  - name: dashboard\n    rules:\n${recording}\n`);
      const result = spawnSync('promtool', ['check', 'rules', `${scratch}/dashboard-rules.yml`], { encoding: 'utf8' });
      expect(result.status, result.stdout + result.stderr).toBe(0);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
    // Rows: rush, catalog, workers, Redis.
    expect(dashboard.panels.filter((panel) => panel.type === 'row').map((panel) => panel.title)).toEqual([
      'Rush (FCFS coupons)',
      'Catalog',
      'Workers',
      'Redis (failover)',
    ]);
  });

  describe('against the metrics a running app exports', () => {
    let t: TestApp;
    let exported: Set<string>;
    beforeAll(async () => {
      t = await startTestApp();
      // Names from the registry itself (a metric with no sample yet still counts), histograms with their series.
      const metrics = await metricsRegistry.getMetricsAsJSON();
      const series: Record<string, string[]> = {
        histogram: ['_bucket', '_sum', '_count'],
        summary: ['', '_sum', '_count'],
      };
      exported = new Set(
        metrics.flatMap((metric) => (series[String(metric.type)] ?? ['']).map((suffix) => metric.name + suffix)),
      );
    });
    afterAll(() => t?.close());

    it('every alert and dashboard query names only exported metrics', () => {
      expect(exported).toContain('pick_http_requests_total');
      const unknown: string[] = [];
      for (const { where, expr } of [...alertQueries, ...dashboardQueries]) {
        // The app's metrics all start with pick_ (no label name does); `up` is Prometheus' own.
        const names = [...expr.matchAll(/\b(pick_[a-zA-Z0-9_:]+|up(?=\{))/g)].map((match) => match[1]);
        if (names.length === 0) unknown.push(`${where}: no metric in ${expr}`);
        for (const name of names)
          if (!exported.has(name) && !PROMETHEUS_OWN.has(name)) unknown.push(`${where}: ${name}`);
      }
      expect(unknown).toEqual([]);
    });

    it('the check can fail: a made-up metric is not exported', () => {
      expect(exported.has('pick_coupon_claims_totl')).toBe(false);
    });

    it('readiness is exported: pick_ready is 1 on a ready app, each check is up', async () => {
      const text = await metricsRegistry.metrics();
      expect(text).toMatch(/^pick_ready\{[^}]*\} 1$/m);
      for (const check of ['mysql', 'redis', 'transport', 'queue'])
        expect(text).toMatch(new RegExp(`^pick_readiness_check_up\\{[^}]*check="${check}"[^}]*\\} 1$`, 'm'));
    });
  });
});
