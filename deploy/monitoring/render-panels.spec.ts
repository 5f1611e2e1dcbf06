import { describe, expect, it } from 'vitest';
import {
  dashboardVariables,
  legendName,
  loadDashboard,
  overview,
  substituteVariables,
  timeseriesPanels,
  unitScale,
  type RenderedPanel,
} from './render-panels.js';

/** The pure parts of the panel renderer (the rendering from a real Prometheus: panels.scenario.ts). */
const dashboard = loadDashboard();
const timing = { stepSeconds: 2, scrapeIntervalSeconds: 1, rangeSeconds: 200 };

describe('render-panels', () => {
  it('maps every timeseries panel of the dashboard to its own file, named by row and title', () => {
    const refs = timeseriesPanels(dashboard);
    const timeseries = dashboard.panels.filter((panel) => panel.type === 'timeseries');
    expect(refs.map((ref) => ref.panel)).toEqual(timeseries);
    const files = refs.map((ref) => ref.file);
    expect(new Set(files).size).toBe(files.length);
    for (const file of files) expect(file).toMatch(/^(rush|catalog|workers|redis)-[a-z0-9-]+\.svg$/);
    expect(files).toContain('rush-claims-by-result-per-s.svg');
    expect(files).toContain('rush-rows-persisted-per-s-vs-accepted-per-s.svg');
    expect(files).toContain('catalog-cache-hit-ratio.svg');
    expect(files).toContain('catalog-requests-per-s-by-route.svg'); // "Catalog requests /s by route", not catalog-catalog-…
    expect(files).toContain('workers-resident-memory.svg');
    expect(files).toContain('redis-server-changes-per-5-min.svg'); // "Redis server changes", not redis-redis-…
    expect(new Set(refs.map((ref) => ref.row))).toEqual(
      new Set(['Rush (FCFS coupons)', 'Catalog', 'Workers', 'Redis (failover)']),
    );
  });

  it("takes a collapsed row's panels from inside the row", () => {
    const refs = timeseriesPanels({
      panels: [
        { type: 'row', title: 'Hidden', panels: [{ type: 'timeseries', title: 'Inside /s', targets: [] }] },
        { type: 'stat', title: 'Not a chart' },
      ],
    });
    expect(refs.map((ref) => [ref.row, ref.file])).toEqual([['Hidden', 'hidden-inside-per-s.svg']]);
  });

  it('puts in "All" for $server and the built-in intervals; leaves the rest of the query as it is', () => {
    const values = dashboardVariables(dashboard, timing);
    expect(values).toMatchObject({ server: '.*', __interval: '2s', __rate_interval: '4s', __range: '200s' });
    // Grafana's rule: max(step + scrape interval, 4 × scrape interval)
    expect(dashboardVariables(dashboard, { ...timing, stepSeconds: 5 }).__rate_interval).toBe('6s');
    expect(
      substituteVariables('sum(rate(pick_http_requests_total{server=~"$server",status=~"5.."}[1m]))', values),
    ).toBe('sum(rate(pick_http_requests_total{server=~".*",status=~"5.."}[1m]))');
    expect(substituteVariables('rate(x{a=~"${server}",b=~"[[server]]"}[$__rate_interval])', values)).toBe(
      'rate(x{a=~".*",b=~".*"}[4s])',
    );
    expect(substituteVariables('x{a="$unknown"}', values)).toBe('x{a="$unknown"}');
    // No other change to any dashboard query.
    for (const { panel } of timeseriesPanels(dashboard)) {
      for (const target of panel.targets ?? []) {
        expect(substituteVariables(target.expr, values)).toBe(target.expr.replaceAll('$server', '.*'));
      }
    }
  });

  it('names series from legendFormat as Grafana does', () => {
    expect(legendName('{{result}}', { result: 'accepted' }, 'q')).toBe('accepted');
    expect(legendName('{{status}} {{route}}', { status: '503', route: '/api/events/:eventId' }, 'q')).toBe(
      '503 /api/events/:eventId',
    );
    expect(legendName('coupon {{ coupon }}', { coupon: '7' }, 'q')).toBe('coupon 7');
    expect(legendName('persisted', {}, 'q')).toBe('persisted');
    // a label the series lacks: Grafana shows the label's name
    expect(legendName('up {{instance}}', {}, 'q')).toBe('up instance');
    // no legendFormat: metric{labels}, or the query for a series without labels
    expect(legendName(undefined, { __name__: 'up', instance: 'a:1' }, 'q')).toBe('up{instance="a:1"}');
    expect(legendName('', {}, 'sum(x)')).toBe('sum(x)');
  });

  it('shows each simple unit on the y axis in a readable scale', () => {
    const tick = (unit: string | undefined, max: number, value: number) => {
      const scale = unitScale(unit, max);
      return scale.format(value * scale.factor);
    };
    expect(tick('s', 0.25, 0.05)).toBe('50 ms');
    expect(tick('s', 12, 2.5)).toBe('2.5 s');
    expect(tick('bytes', 200 * 2 ** 20, 100 * 2 ** 20)).toBe('100 MiB');
    expect(tick('percentunit', 1, 0.5)).toBe('50%');
    expect(tick('reqps', 40, 12.5)).toBe('12.5 req/s');
    expect(tick('short', 3000, 2500)).toBe('2.5 K');
    expect(tick('short', 3, 2)).toBe('2');
    expect(tick(undefined, 3, 2)).toBe('2');
  });

  it("lists every panel under its row in the folder's README", () => {
    const panels = timeseriesPanels(dashboard).map((ref): RenderedPanel => ({
      row: ref.row,
      title: ref.panel.title,
      file: ref.file,
      exprs: [],
      series: [],
      svg: '',
    }));
    const md = overview(panels, { start: 1_700_000_000, end: 1_700_000_200, notes: ['sent: 1 claim'] }, 2);
    expect(md).toContain('2023-11-14T22:13:20Z to 2023-11-14T22:16:40Z');
    expect(md).toContain('sent: 1 claim');
    for (const panel of panels) expect(md).toContain(`![${panel.title}](${panel.file})`);
    expect(md.indexOf('## Rush (FCFS coupons)')).toBeLessThan(md.indexOf('## Catalog'));
    expect(md.indexOf('## Catalog')).toBeLessThan(md.indexOf('## Workers'));
    expect(md.indexOf('## Workers')).toBeLessThan(md.indexOf('## Redis (failover)'));
  });
});
