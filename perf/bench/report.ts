/**
 * Turns BenchResults into perf/results/<stamp>/report.md plus hand-written SVG charts: throughput
 * and latency bars per benchmark (so cached vs uncached, claim vs list sit side by side), ratios
 * against their targets, and a line chart per time series (claim rate, queue drain). Pure
 * rendering (`renderReport`) is separate from writing files, so a unit test can check the output.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { verdicts, type BenchResult } from './support.js';

export interface ReportInput {
  results: BenchResult[];
  /** benchmarks that did not produce a result: name → reason */
  failures?: Record<string, string>;
  startedAt: string;
  finishedAt: string;
  cores: number;
  cpuModel: string;
  nodeVersion?: string;
}

export interface RenderedReport {
  markdown: string;
  /** file name → SVG text */
  charts: Record<string, string>;
}

/** The original (Spring Boot, 2 servers, nGrinder 1,000 VUs for 2 min): list without → with Caffeine. */
export const ORIGINAL = { uncachedTps: 1750, cachedTps: 6800, uncachedAvgMs: 383, cachedAvgMs: 58 };

type Kind = 'throughput' | 'latency' | 'other';

/** Figures are named by what they measure: `…ReqPerSec`, `…RowsPerSec` are rates, `…Ms` latencies. */
export function figureKind(name: string): Kind {
  if (/(PerSec|PerS|Rps|Tps)$/i.test(name)) return 'throughput';
  if (/Ms$/.test(name)) return 'latency';
  return 'other';
}

export function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** 12345.678 → "12,346"; 3.456 → "3.46"; 0.01234 → "0.0123". */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  const digits = abs >= 100 ? 0 : abs >= 1 ? 2 : 3;
  return value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

/** "cachedReqPerSec" → "cached req/s"; "uncachedP99Ms" → "uncached p99 (ms)". */
export function humanize(name: string): string {
  return name
    .replace(/ReqPerSec$/, ' req/s')
    .replace(/PerSec$/, '/s')
    .replace(/(P\d+|Avg|Mean|Max|Min)Ms$/, (_, stat: string) => ` ${stat.toLowerCase()} (ms)`)
    .replace(/Ms$/, ' (ms)')
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/\s+/g, ' ')
    .trim()
    .toLowerCase();
}

const FONT = 'font-family="system-ui, -apple-system, Segoe UI, sans-serif"';
// More than six: a dashboard panel can have a line per route or per cache.
const COLORS = [
  '#2563eb',
  '#16a34a',
  '#d97706',
  '#9333ea',
  '#dc2626',
  '#0891b2',
  '#db2777',
  '#65a30d',
  '#4f46e5',
  '#ea580c',
];

export interface Bar {
  label: string;
  value: number;
  /** drawn as a marker line (e.g. a target ratio) */
  target?: number;
}

/** Horizontal bars, one per row, value printed at the bar's end. */
export function barChart(title: string, unit: string, bars: Bar[]): string {
  const width = 760;
  const labelWidth = 260;
  const rowHeight = 30;
  const top = 44;
  const plotWidth = width - labelWidth - 110;
  const height = top + bars.length * rowHeight + 30;
  const max = Math.max(1e-9, ...bars.map((b) => Math.max(b.value, b.target ?? 0)));
  const rows = bars.map((bar, i) => {
    const y = top + i * rowHeight;
    const w = Math.max(1, (Math.max(0, bar.value) / max) * plotWidth);
    const parts = [
      `<text x="${labelWidth - 10}" y="${y + 19}" text-anchor="end" font-size="13" fill="#111827">${escapeXml(bar.label)}</text>`,
      `<rect x="${labelWidth}" y="${y + 5}" width="${w.toFixed(1)}" height="${rowHeight - 10}" rx="3" fill="${COLORS[i % COLORS.length]}"><title>${escapeXml(`${bar.label}: ${formatNumber(bar.value)} ${unit}`)}</title></rect>`,
      `<text x="${(labelWidth + w + 6).toFixed(1)}" y="${y + 19}" font-size="13" fill="#111827">${escapeXml(`${formatNumber(bar.value)} ${unit}`.trim())}</text>`,
    ];
    if (bar.target !== undefined) {
      const x = labelWidth + (bar.target / max) * plotWidth;
      parts.push(
        `<line x1="${x.toFixed(1)}" y1="${y + 2}" x2="${x.toFixed(1)}" y2="${y + rowHeight - 2}" stroke="#111827" stroke-width="2" stroke-dasharray="4 2"><title>${escapeXml(`target ${formatNumber(bar.target)}`)}</title></line>`,
      );
    }
    return parts.join('\n  ');
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT}>`,
    `  <rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `  <text x="16" y="26" font-size="16" font-weight="600" fill="#111827">${escapeXml(title)}</text>`,
    `  ${rows.join('\n  ')}`,
    `  <line x1="${labelWidth}" y1="${top}" x2="${labelWidth}" y2="${top + bars.length * rowHeight}" stroke="#9ca3af"/>`,
    `</svg>`,
    '',
  ].join('\n');
}

/** The axis end: the value rounded up to 1, 2, 2.5, 4, 5, 8 or 10 × a power of ten, so quarter ticks are round. */
export function niceCeil(value: number): number {
  const power = 10 ** Math.floor(Math.log10(value));
  const step = [1, 2, 2.5, 4, 5, 8, 10].find((m) => m * power >= value * (1 - 1e-12)) ?? 10;
  return step * power;
}

export interface LineChartOptions {
  /** legend text of a series (default: humanize(name); the dashboard panels pass names as they are) */
  label?: (name: string) => string;
  /** y tick text (default: formatNumber) */
  formatY?: (value: number) => string;
  /** the x axis covers at least 0..maxX, also where the series end earlier (a panel's time range) */
  maxX?: number;
}

/**
 * Where the ticks go on an axis ending at `max` (a niceCeil): fifths when it is 2.5 or 5 × a power
 * of ten (25 → 5, 10, 15, 20), quarters otherwise (8 → 2, 4, 6), so every tick is a round number.
 */
function tickFractions(max: number): number[] {
  const mantissa = max / 10 ** Math.floor(Math.log10(max));
  const parts = Math.abs(mantissa - 2.5) < 1e-9 || Math.abs(mantissa - 5) < 1e-9 ? 5 : 4;
  return Array.from({ length: parts + 1 }, (_, i) => i / parts);
}

/** Roughly how wide `text` is at 12 px (the legend's size), to lay legend items out without measuring. */
function legendTextWidth(text: string): number {
  return text.length * 7;
}

/**
 * Lines over time (x: seconds since start), with axes, a few ticks and a legend (wrapped onto
 * more rows when the names do not fit on one). A point whose y is not finite (NaN: Prometheus'
 * answer for 0/0, or a missing sample) breaks its line there, as Grafana draws a gap. With no
 * point at all the plot says "No data".
 */
export function lineChart(
  title: string,
  series: Record<string, [number, number][]>,
  options: LineChartOptions = {},
): string {
  const label = options.label ?? humanize;
  const formatY = options.formatY ?? formatNumber;
  const width = 760;
  const left = 70;
  const right = 20;
  const top = 44;
  const bottom = 50;
  const names = Object.keys(series);
  // Legend items flow left to right at least 200 px apart, onto a new row when the next one would not fit.
  const legend: { x: number; row: number }[] = [];
  let cursor = left;
  let row = 0;
  for (const name of names) {
    const itemWidth = Math.max(200, 16 + legendTextWidth(label(name)) + 24);
    if (cursor > left && cursor + itemWidth > width - right) {
      cursor = left;
      row++;
    }
    legend.push({ x: cursor, row });
    cursor += itemWidth;
  }
  const legendRows = names.length === 0 ? 1 : row + 1;
  const height = 320 + (legendRows - 1) * 18;
  const plotBottom = height - bottom - (legendRows - 1) * 18;
  const points = names.flatMap((name) => series[name]).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const maxX = niceCeil(Math.max(1e-9, options.maxX ?? 0, ...points.map(([x]) => x)));
  const highest = Math.max(0, ...points.map(([, y]) => y));
  // All zero (or nothing): a 0..1 axis, as Grafana shows it, not one ending at 1e-9.
  const maxY = highest > 0 ? niceCeil(highest) : 1;
  const sx = (x: number) => left + (x / maxX) * (width - left - right);
  const sy = (y: number) => plotBottom - (y / maxY) * (plotBottom - top);
  const yGrid = tickFractions(maxY).map((t) => {
    const y = sy(maxY * t);
    return [
      `<line x1="${left}" y1="${y.toFixed(1)}" x2="${width - right}" y2="${y.toFixed(1)}" stroke="#e5e7eb"/>`,
      `<text x="${left - 6}" y="${(y + 4).toFixed(1)}" text-anchor="end" font-size="11" fill="#4b5563">${escapeXml(formatY(maxY * t))}</text>`,
    ].join('\n  ');
  });
  const xLabels = tickFractions(maxX).map((t) => {
    const x = sx(maxX * t);
    return `<text x="${x.toFixed(1)}" y="${plotBottom + 16}" text-anchor="middle" font-size="11" fill="#4b5563">${escapeXml(`${formatNumber(maxX * t)} s`)}</text>`;
  });
  const grid = [...yGrid, ...xLabels];
  const lines = names.map((name, i) => {
    let gap = true;
    const d = series[name]
      .flatMap(([x, y]) => {
        if (!Number.isFinite(x) || !Number.isFinite(y)) {
          gap = true;
          return [];
        }
        const command = `${gap ? 'M' : 'L'}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`;
        gap = false;
        return [command];
      })
      .join(' ');
    const color = COLORS[i % COLORS.length];
    const legendX = legend[i].x;
    const legendY = plotBottom + 30 + legend[i].row * 18;
    return [
      d
        ? `<path d="${d}" fill="none" stroke="${color}" stroke-width="2"><title>${escapeXml(label(name))}</title></path>`
        : '',
      `<rect x="${legendX}" y="${legendY}" width="12" height="12" fill="${color}"/>`,
      `<text x="${legendX + 16}" y="${legendY + 10}" font-size="12" fill="#111827">${escapeXml(label(name))}</text>`,
    ].join('\n  ');
  });
  const noData =
    points.length === 0
      ? `<text x="${((left + width - right) / 2).toFixed(1)}" y="${((top + plotBottom) / 2).toFixed(1)}" text-anchor="middle" font-size="14" fill="#6b7280">No data</text>`
      : '';
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT}>`,
    `  <rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `  <text x="16" y="26" font-size="16" font-weight="600" fill="#111827">${escapeXml(title)}</text>`,
    `  ${grid.join('\n  ')}`,
    `  <line x1="${left}" y1="${top}" x2="${left}" y2="${plotBottom}" stroke="#6b7280"/>`,
    `  <line x1="${left}" y1="${plotBottom}" x2="${width - right}" y2="${plotBottom}" stroke="#6b7280"/>`,
    ...(noData ? [`  ${noData}`] : []),
    `  ${lines.join('\n  ')}`,
    `</svg>`,
    '',
  ].join('\n');
}

function slug(text: string): string {
  return text
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

function ratioVerdict(value: number, target: number | undefined): string {
  if (target === undefined) return '';
  return value >= target ? 'pass' : '**FAIL**';
}

export function renderReport(input: ReportInput): RenderedReport {
  const charts: Record<string, string> = {};
  const md: string[] = [];
  md.push(`# Pick benchmark report`, '');
  md.push(`- started ${input.startedAt}, finished ${input.finishedAt}`);
  md.push(
    `- machine: **${input.cores} cores** (${input.cpuModel})${input.nodeVersion ? `, Node ${input.nodeVersion}` : ''}`,
  );
  md.push(`- every figure below comes from this one run; compare ratios, not absolute numbers, across machines`, '');

  const allRatios = input.results.flatMap((r) =>
    Object.entries(r.ratios).map(([name, value]) => ({ bench: r.name, name, value, target: r.targets[name] })),
  );
  md.push(`## Ratios vs targets`, '');
  if (allRatios.length === 0) md.push('_no ratios reported_', '');
  else {
    md.push('| benchmark | ratio | measured | target | verdict |', '|---|---|---:|---:|---|');
    for (const ratio of allRatios) {
      md.push(
        `| ${ratio.bench} | ${humanize(ratio.name)} | ${formatNumber(ratio.value)}× | ${ratio.target === undefined ? '–' : `≥ ${formatNumber(ratio.target)}×`} | ${ratioVerdict(ratio.value, ratio.target)} |`,
      );
    }
    md.push('');
    const file = 'ratios.svg';
    charts[file] = barChart(
      'Ratios measured side by side (dashed line: target)',
      '×',
      allRatios.map((r) => ({ label: `${r.bench}: ${humanize(r.name)}`, value: r.value, target: r.target })),
    );
    md.push(`![ratios](${file})`, '');
  }
  const bounds = input.results.flatMap((result) => verdicts(result).filter((verdict) => verdict.kind !== 'ratio'));
  if (bounds.length > 0) {
    md.push(`## Figures vs targets`, '');
    md.push('| benchmark | figure | measured | target | verdict |', '|---|---|---:|---:|---|');
    for (const bound of bounds) {
      md.push(
        `| ${bound.bench} | ${humanize(bound.name)} | ${formatNumber(bound.measured)} | ${bound.kind === 'min' ? '≥' : '<'} ${formatNumber(bound.target)} | ${bound.pass ? 'pass' : '**FAIL**'} |`,
      );
    }
    md.push('');
  }
  md.push(
    `For scale, the original (Spring Boot on 2 servers, nGrinder 1,000 VUs for 2 min) went from ${formatNumber(ORIGINAL.uncachedTps)} to ${formatNumber(ORIGINAL.cachedTps)} TPS ` +
      `(${formatNumber(ORIGINAL.cachedTps / ORIGINAL.uncachedTps)}×) and from ${ORIGINAL.uncachedAvgMs} ms to ${ORIGINAL.cachedAvgMs} ms average with its list cache.`,
    '',
  );

  for (const [name, reason] of Object.entries(input.failures ?? {})) {
    md.push(`## ${name}: no result`, '', '```', reason.trim(), '```', '');
  }

  for (const result of input.results) {
    md.push(`## ${result.name}`, '');
    const entries = Object.entries(result.figures);
    md.push('| figure | value |', '|---|---:|');
    for (const [figure, value] of entries) md.push(`| ${humanize(figure)} | ${formatNumber(value)} |`);
    md.push('');
    const throughput = entries.filter(([figure]) => figureKind(figure) === 'throughput');
    const latency = entries.filter(([figure]) => figureKind(figure) === 'latency');
    if (throughput.length > 0) {
      const file = `${slug(result.name)}-throughput.svg`;
      charts[file] = barChart(
        `${result.name}: throughput`,
        '/s',
        throughput.map(([figure, value]) => ({ label: humanize(figure).replace(/ ?(req)?\/s$/, ''), value })),
      );
      md.push(`![${result.name} throughput](${file})`, '');
    }
    if (latency.length > 0) {
      const file = `${slug(result.name)}-latency.svg`;
      charts[file] = barChart(
        `${result.name}: latency`,
        'ms',
        latency.map(([figure, value]) => ({ label: humanize(figure).replace(/ \(ms\)$/, ''), value })),
      );
      md.push(`![${result.name} latency](${file})`, '');
    }
    // All series of a benchmark share one chart (e.g. claims accepted and rows in MySQL: the drain
    // is the gap between the two lines).
    const series = Object.entries(result.series ?? {}).filter(([, points]) => points.length > 0);
    if (series.length > 0) {
      const file = `${slug(result.name)}-over-time.svg`;
      charts[file] = lineChart(
        `${result.name}: ${series.map(([name]) => humanize(name)).join(', ')} over time`,
        Object.fromEntries(series),
      );
      md.push(`![${result.name} over time](${file})`, '');
    }
    if (result.notes?.length) md.push(...result.notes.map((note) => `- ${note}`), '');
  }
  return { markdown: md.join('\n'), charts };
}

/** Writes report.md and the charts into `dir`; returns the report's path. */
export function writeReport(dir: string, input: ReportInput): string {
  const { markdown, charts } = renderReport(input);
  mkdirSync(dir, { recursive: true });
  for (const [file, svg] of Object.entries(charts)) writeFileSync(`${dir}/${file}`, svg);
  const path = `${dir}/report.md`;
  writeFileSync(path, markdown);
  return path;
}
