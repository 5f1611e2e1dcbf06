/**
 * Renders the Grafana dashboard's time series panels (grafana-dashboard.json) as SVG line charts
 * from a Prometheus, without Grafana: each target's `expr` runs exactly as the dashboard has it
 * (only Grafana's variables are substituted: `$server` by its "All" value `.*`, `$__interval`,
 * `$__rate_interval`, `$__range`) through /api/v1/query_range, one line per series, named by the
 * target's legendFormat as Grafana names them. Also writes README.md: every panel, row by row.
 *
 *   node --import @swc-node/register/esm-register deploy/monitoring/render-panels.ts \
 *     --prometheus http://127.0.0.1:9090 --from 2026-12-02T18:00:00Z --to 2026-12-02T18:05:00Z [--step 2] [--out dir]
 *
 * `npm run monitoring:panels` (panels.scenario.ts) renders deploy/monitoring/panels/ this way from
 * a scenario run against a real cluster.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { formatNumber, lineChart } from '../../perf/bench/report.js';

export interface DashboardTarget {
  refId?: string;
  expr: string;
  legendFormat?: string;
}
export interface DashboardPanel {
  type: string;
  title: string;
  id?: number;
  fieldConfig?: { defaults?: { unit?: string } };
  targets?: DashboardTarget[];
  /** a collapsed row keeps its panels here */
  panels?: DashboardPanel[];
}
export interface DashboardVariable {
  name: string;
  includeAll?: boolean;
  allValue?: string;
  current?: { value?: string | string[] };
}
export interface Dashboard {
  panels: DashboardPanel[];
  templating?: { list: DashboardVariable[] };
}

export const DASHBOARD_FILE = new URL('grafana-dashboard.json', import.meta.url).pathname;
export const PANELS_DIR = new URL('panels', import.meta.url).pathname;

export function loadDashboard(file = DASHBOARD_FILE): Dashboard {
  return JSON.parse(readFileSync(file, 'utf8')) as Dashboard;
}

export interface PanelRef {
  /** the title of the row the panel sits under ('' above the first row) */
  row: string;
  panel: DashboardPanel;
  /** the SVG's file name: row and title, e.g. rush-claims-by-result-per-s.svg */
  file: string;
}

function slug(text: string): string {
  return text
    .replace(/\s*\/s\b/g, ' per s')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

/** Every `timeseries` panel in dashboard order, with its row (a row's title without its parenthesis). */
export function timeseriesPanels(dashboard: Dashboard): PanelRef[] {
  const refs: PanelRef[] = [];
  let row = '';
  const visit = (panel: DashboardPanel) => {
    if (panel.type !== 'timeseries') return;
    const rowSlug = slug(row.replace(/\(.*\)/, ''));
    const titleSlug = slug(panel.title);
    // "Catalog latency" under Catalog: catalog-latency.svg, not catalog-catalog-latency.svg
    const prefixed = !rowSlug || titleSlug.startsWith(`${rowSlug}-`) ? titleSlug : `${rowSlug}-${titleSlug}`;
    refs.push({ row, panel, file: `${prefixed}.svg` });
  };
  for (const panel of dashboard.panels) {
    if (panel.type === 'row') {
      row = panel.title;
      (panel.panels ?? []).forEach(visit);
    } else visit(panel);
  }
  return refs;
}

/**
 * The values Grafana would put in for the dashboard's variables with "All" selected (a variable's
 * allValue, else its current value), and the built-ins this renderer knows: `$__interval` (the
 * step), `$__rate_interval` (max(step + scrape interval, 4 × scrape interval), Grafana's rule) and
 * `$__range`.
 */
export function dashboardVariables(
  dashboard: Dashboard,
  timing: { stepSeconds: number; scrapeIntervalSeconds: number; rangeSeconds: number },
): Record<string, string> {
  const values: Record<string, string> = {
    __interval: `${timing.stepSeconds}s`,
    __rate_interval: `${Math.max(timing.stepSeconds + timing.scrapeIntervalSeconds, 4 * timing.scrapeIntervalSeconds)}s`,
    __range: `${Math.round(timing.rangeSeconds)}s`,
  };
  for (const variable of dashboard.templating?.list ?? []) {
    const current = variable.current?.value;
    if (variable.includeAll && variable.allValue !== undefined) values[variable.name] = variable.allValue;
    else if (typeof current === 'string' && current !== '$__all') values[variable.name] = current;
  }
  return values;
}

/** `$name`, `${name}` and `[[name]]` replaced by their values; a variable without a value is left as it is. */
export function substituteVariables(expr: string, values: Record<string, string>): string {
  return expr.replace(
    /\$\{(\w+)\}|\[\[(\w+)\]\]|\$(\w+)/g,
    (whole, braced?: string, bracketed?: string, bare?: string) => {
      const name = braced ?? bracketed ?? bare!;
      return Object.hasOwn(values, name) ? values[name] : whole;
    },
  );
}

/**
 * A series' name as Grafana's Prometheus data source gives it: the legendFormat with each
 * `{{label}}` replaced by the series' value of that label (by the label's name when the series has
 * no such label or it is empty, as Grafana does); without a legendFormat, `metric{label="value", …}`,
 * or the query itself for a series with no labels at all.
 */
export function legendName(legendFormat: string | undefined, labels: Record<string, string>, expr: string): string {
  if (legendFormat) return legendFormat.replace(/\{\{\s*(.+?)\s*\}\}/g, (_, name: string) => labels[name] || name);
  const { __name__: metric = '', ...rest } = labels;
  const pairs = Object.entries(rest).map(([name, value]) => `${name}="${value}"`);
  if (!metric && pairs.length === 0) return expr;
  return `${metric}{${pairs.join(', ')}}`;
}

/**
 * How a panel's unit (fieldConfig.defaults.unit) shows on the y axis: values are scaled so the
 * axis ends on a round number in the unit shown (ms under a second, MiB for bytes, % for ratios).
 */
export function unitScale(
  unit: string | undefined,
  max: number,
): { factor: number; format: (value: number) => string } {
  const scaled = (factor: number, suffix: string) => ({
    factor,
    format: (value: number) => `${formatNumber(value)}${suffix}`,
  });
  switch (unit) {
    case 's':
      if (max >= 1) return scaled(1, ' s');
      if (max >= 1e-3 || max === 0) return scaled(1e3, ' ms');
      return scaled(1e6, ' µs');
    case 'bytes': {
      const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
      const power = Math.max(0, Math.min(units.length - 1, Math.floor(Math.log(Math.max(max, 1)) / Math.log(1024))));
      return scaled(1 / 1024 ** power, ` ${units[power]}`);
    }
    case 'percentunit':
      return scaled(100, '%');
    case 'reqps':
      return scaled(1, ' req/s');
    case 'short': {
      const units = ['', ' K', ' Mil', ' Bil', ' Tri'];
      const power = Math.max(0, Math.min(units.length - 1, Math.floor(Math.log10(Math.max(max, 1)) / 3)));
      return scaled(1 / 1000 ** power, units[power]);
    }
    default:
      return scaled(1, unit ? ` ${unit}` : '');
  }
}

interface RangeSeries {
  metric: Record<string, string>;
  values: [number, string][];
}

async function queryRange(
  prometheus: string,
  expr: string,
  start: number,
  end: number,
  step: number,
): Promise<RangeSeries[]> {
  const url = new URL('/api/v1/query_range', prometheus);
  url.searchParams.set('query', expr);
  url.searchParams.set('start', start.toFixed(3));
  url.searchParams.set('end', end.toFixed(3));
  url.searchParams.set('step', String(step));
  const response = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  const body = (await response.json()) as { status: string; data: { result: RangeSeries[] }; error?: string };
  if (body.status !== 'success') throw new Error(`query_range ${expr}: ${body.error}`);
  return body.data.result;
}

export interface RenderedSeries {
  name: string;
  /** one value per step from the range's start (NaN: no sample, or Prometheus answered NaN) */
  values: number[];
}
export interface RenderedPanel {
  row: string;
  title: string;
  file: string;
  unit?: string;
  /** the queries as sent */
  exprs: string[];
  series: RenderedSeries[];
  svg: string;
}

export interface RenderOptions {
  /** Prometheus' base URL, e.g. http://127.0.0.1:9090 */
  prometheus: string;
  /** unix seconds */
  start: number;
  end: number;
  /** query_range step in seconds (default 2) */
  stepSeconds?: number;
  /** the targets' scrape interval, for `$__rate_interval` (default 1 s, the scenario's) */
  scrapeIntervalSeconds?: number;
  dashboard?: Dashboard;
  /** where the SVGs and README.md go (default deploy/monitoring/panels); none: nothing written */
  outDir?: string | null;
  /** lines under the README's heading: what the run sent */
  notes?: string[];
}

/** Queries and renders every time series panel; writes the SVGs and README.md into outDir. */
export async function renderPanels(options: RenderOptions): Promise<RenderedPanel[]> {
  const dashboard = options.dashboard ?? loadDashboard();
  const step = options.stepSeconds ?? 2;
  const range = options.end - options.start;
  const values = dashboardVariables(dashboard, {
    stepSeconds: step,
    scrapeIntervalSeconds: options.scrapeIntervalSeconds ?? 1,
    rangeSeconds: range,
  });
  const steps = Math.floor(range / step) + 1;
  const rendered: RenderedPanel[] = [];
  for (const { row, panel, file } of timeseriesPanels(dashboard)) {
    const exprs: string[] = [];
    const series: RenderedSeries[] = [];
    for (const target of panel.targets ?? []) {
      const expr = substituteVariables(target.expr, values);
      exprs.push(expr);
      const result = await queryRange(options.prometheus, expr, options.start, options.end, step);
      const named = result
        .map((s) => ({ name: legendName(target.legendFormat, s.metric, expr), samples: s.values }))
        .sort((a, b) => a.name.localeCompare(b.name));
      for (const { name, samples } of named) {
        const line = new Array<number>(steps).fill(NaN);
        for (const [time, value] of samples) {
          const index = Math.round((time - options.start) / step);
          if (index >= 0 && index < steps) line[index] = Number(value);
        }
        // Two series Grafana would name alike keep both lines.
        let unique = name;
        for (let n = 2; series.some((s) => s.name === unique); n++) unique = `${name} (${n})`;
        series.push({ name: unique, values: line });
      }
    }
    const unit = panel.fieldConfig?.defaults?.unit;
    const max = Math.max(0, ...series.flatMap((s) => s.values.filter(Number.isFinite)));
    const scale = unitScale(unit, max);
    const svg = lineChart(
      panel.title,
      Object.fromEntries(
        series.map((s) => [s.name, s.values.map((v, i) => [i * step, v * scale.factor] as [number, number])]),
      ),
      { label: (name) => name, formatY: scale.format, maxX: range },
    );
    rendered.push({ row, title: panel.title, file, unit, exprs, series, svg });
  }
  const outDir = options.outDir === undefined ? PANELS_DIR : options.outDir;
  if (outDir) {
    mkdirSync(outDir, { recursive: true });
    // The folder holds the current dashboard's panels only: a panel renamed or removed leaves no stale image.
    const files = new Set(rendered.map((panel) => panel.file));
    for (const file of readdirSync(outDir)) if (file.endsWith('.svg') && !files.has(file)) rmSync(`${outDir}/${file}`);
    for (const panel of rendered) writeFileSync(`${outDir}/${panel.file}`, panel.svg);
    writeFileSync(`${outDir}/README.md`, overview(rendered, options, step));
  }
  return rendered;
}

/** README.md of the rendered folder: how it was made, then every panel under its row. */
export function overview(
  panels: RenderedPanel[],
  options: Pick<RenderOptions, 'start' | 'end' | 'notes'>,
  step: number,
) {
  const iso = (seconds: number) => new Date(seconds * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
  const md = [
    "# The Grafana dashboard's panels, rendered",
    '',
    `Rendered by \`deploy/monitoring/render-panels.ts\` from a real Prometheus, not screenshots of Grafana: each panel's`,
    `queries of \`grafana-dashboard.json\` exactly as the dashboard has them (\`$server\` = \`.*\`, i.e. "All") through`,
    `\`/api/v1/query_range\`, step ${step} s, ${iso(options.start)} to ${iso(options.end)}; the x axis is seconds since the start.`,
    '',
    ...(options.notes ?? []),
    ...(options.notes?.length ? [''] : []),
  ];
  let row: string | undefined;
  for (const panel of panels) {
    if (panel.row !== row) {
      row = panel.row;
      md.push(`## ${row || 'Panels'}`, '');
    }
    md.push(`![${panel.title}](${panel.file})`, '');
  }
  return md.join('\n');
}

function unixSeconds(text: string): number {
  const seconds = /^\d+(\.\d+)?$/.test(text) ? Number(text) : Date.parse(text) / 1000;
  if (!Number.isFinite(seconds)) throw new Error(`not a time: ${text} (unix seconds or ISO 8601)`);
  return seconds;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      prometheus: { type: 'string', default: 'http://127.0.0.1:9090' },
      from: { type: 'string' },
      to: { type: 'string' },
      step: { type: 'string', default: '2' },
      out: { type: 'string', default: PANELS_DIR },
    },
  });
  if (!values.from || !values.to) {
    console.error('usage: render-panels.ts --prometheus URL --from TIME --to TIME [--step SECONDS] [--out DIR]');
    process.exit(2);
  }
  renderPanels({
    prometheus: values.prometheus,
    start: unixSeconds(values.from),
    end: unixSeconds(values.to),
    stepSeconds: Number(values.step),
    outDir: values.out,
  }).then(
    (panels) => console.log(`${panels.length} panels rendered into ${values.out}`),
    (error: Error) => {
      console.error(error.message);
      process.exit(1);
    },
  );
}
