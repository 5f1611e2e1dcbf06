import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  barChart,
  escapeXml,
  figureKind,
  formatNumber,
  humanize,
  lineChart,
  niceCeil,
  renderReport,
  writeReport,
  type ReportInput,
} from './report.js';
import { verdicts, type BenchResult } from './support.js';

const catalog: BenchResult = {
  name: 'catalog',
  startedAt: '2026-11-25T10:00:00.000Z',
  cores: 2,
  cpuModel: 'Test CPU',
  figures: {
    cachedReqPerSec: 9120,
    uncachedReqPerSec: 1830,
    healthReqPerSec: 11200,
    cachedP99Ms: 31,
    uncachedP99Ms: 212,
    cachedP50Ms: 9.5,
  },
  ratios: { cachedOverUncached: 4.98, listOverTrivial: 0.81 },
  targets: { cachedOverUncached: 4, listOverTrivial: 0.5 },
  notes: ['2 PM2 workers; autocannon 100 connections for 10 s per route'],
};

const coupons: BenchResult = {
  name: 'coupons',
  startedAt: '2026-11-25T10:01:00.000Z',
  cores: 2,
  cpuModel: 'Test CPU',
  figures: { claimReqPerSec: 6400, claimP99Ms: 48, drainRowsPerSec: 2100, accepted: 10000 },
  ratios: { claimOverList: 0.7, drainRowsPerSecOverTarget: 0.9 },
  targets: { drainRowsPerSecOverTarget: 1 },
  series: {
    claimsPerSec: [
      [0, 0],
      [1, 5200],
      [2, 6900],
      [3, 1200],
    ],
    pendingClaims: [
      [0, 0],
      [1, 3000],
      [2, 5200],
      [4, 800],
      [6, 0],
    ],
  },
};

const input: ReportInput = {
  results: [catalog, coupons],
  failures: { broken: 'Error: cluster did not start <on port 4700> & gave up' },
  startedAt: '2026-11-25T10:00:00.000Z',
  finishedAt: '2026-11-25T10:03:00.000Z',
  cores: 2,
  cpuModel: 'Test CPU',
  nodeVersion: '24.21.0',
};

/**
 * A strict enough XML well-formedness check for our SVGs: one root, every tag closed in order,
 * attributes quoted, no raw `<` or `&` outside entities. Returns the element names seen.
 */
function parseXml(xml: string): string[] {
  const names: string[] = [];
  const stack: string[] = [];
  const token = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|([^<]+)/gy;
  let roots = 0;
  let position = 0;
  const body = xml.trim();
  while (position < body.length) {
    token.lastIndex = position;
    const match = token.exec(body);
    if (!match) throw new Error(`malformed XML near: ${body.slice(position, position + 60)}`);
    position = token.lastIndex;
    const [, closing, name, attributes, selfClosing, text] = match;
    if (text !== undefined) {
      if (stack.length === 0 && text.trim() !== '') throw new Error(`text outside the root: ${text}`);
      if (/&(?!(amp|lt|gt|quot|apos|#\d+);)/.test(text)) throw new Error(`raw & in text: ${text}`);
      continue;
    }
    if (/&(?!(amp|lt|gt|quot|apos|#\d+);)/.test(attributes ?? '')) throw new Error(`raw & in attributes of <${name}>`);
    if (closing) {
      const open = stack.pop();
      if (open !== name) throw new Error(`</${name}> closes <${open}>`);
      continue;
    }
    names.push(name);
    if (stack.length === 0) roots++;
    if (!selfClosing) stack.push(name);
  }
  if (stack.length > 0) throw new Error(`unclosed: ${stack.join(' > ')}`);
  if (roots !== 1) throw new Error(`expected one root element, found ${roots}`);
  return names;
}

const unescape = (text: string) =>
  text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');

describe('benchmark report', () => {
  const { markdown, charts } = renderReport(input);

  it('the XML checker itself rejects broken SVG', () => {
    expect(() => parseXml('<svg><g></svg>')).toThrow();
    expect(() => parseXml('<svg><text>a & b</text></svg>')).toThrow();
    expect(() => parseXml('<svg></svg><svg></svg>')).toThrow();
    expect(() => parseXml('<svg x=1></svg>')).toThrow();
    expect(parseXml('<svg a="1"><g><rect/></g></svg>')).toEqual(['svg', 'g', 'rect']);
  });

  it('renders one well-formed SVG per chart, each referenced from report.md', () => {
    expect(Object.keys(charts).sort()).toEqual(
      [
        'catalog-latency.svg',
        'catalog-throughput.svg',
        'coupons-latency.svg',
        'coupons-over-time.svg',
        'coupons-throughput.svg',
        'ratios.svg',
      ].sort(),
    );
    for (const [file, svg] of Object.entries(charts)) {
      const elements = parseXml(svg);
      expect(elements[0], file).toBe('svg');
      expect(svg, file).toContain('xmlns="http://www.w3.org/2000/svg"');
      expect(markdown, file).toContain(`](${file})`);
    }
  });

  it('draws the throughput bars with lengths proportional to the figures, values printed', () => {
    const svg = charts['catalog-throughput.svg'];
    for (const value of ['9,120', '1,830', '11,200']) expect(svg).toContain(value);
    const widths = [...svg.matchAll(/<rect x="\d+" y="[\d.]+" width="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(widths).toHaveLength(3);
    // cached 9120 vs uncached 1830: the bars keep the ratio (±1%)
    expect(widths[0] / widths[1]).toBeCloseTo(9120 / 1830, 1);
    expect(Math.max(...widths)).toBe(widths[2]);
  });

  it('shows every figure, the core count and each ratio with its target and verdict', () => {
    expect(markdown).toContain('**2 cores** (Test CPU)');
    expect(markdown).toMatch(/\| catalog \| cached over uncached \| 4\.98× \| ≥ 4× \| pass \|/);
    expect(markdown).toMatch(/\| coupons \| drain rows per sec over target \| 0\.9× \| ≥ 1× \| \*\*FAIL\*\* \|/);
    expect(markdown).toMatch(/\| coupons \| claim over list \| 0\.7× \| – \| {2}\|/);
    for (const [figure, value] of Object.entries({ ...catalog.figures, ...coupons.figures })) {
      expect(markdown).toContain(`| ${humanize(figure)} | ${formatNumber(value)} |`);
    }
    expect(markdown).toContain('1,750 to 6,800 TPS');
    expect(markdown).toContain('2 PM2 workers');
    expect(markdown).toContain('## broken: no result');
    const ratios = charts['ratios.svg'];
    expect(ratios).toContain('4.98 ×');
    expect(ratios.match(/stroke-dasharray/g)).toHaveLength(3); // three ratios have targets
  });

  it("plots a benchmark's time series in one chart, a path through every point of each", () => {
    const svg = charts['coupons-over-time.svg'];
    const paths = [...svg.matchAll(/<path d="([^"]+)"/g)].map((m) => m[1].split(/[ML]/).filter(Boolean));
    expect(paths.map((p) => p.length)).toEqual([
      coupons.series!.claimsPerSec.length,
      coupons.series!.pendingClaims.length,
    ]);
    expect(svg).toContain('claims/s');
    expect(svg).toContain('pending claims');
    expect(svg).toContain('>8,000<'); // the y axis covers the highest point of either series (6,900), rounded up
    expect(svg).toContain('>8 s<'); // the x axis the last time (6 s), rounded up
  });

  it('a line chart breaks a line at a point that is not a number, and says "No data" when it has none', () => {
    const svg = lineChart('gaps', {
      a: [
        [0, 1],
        [1, NaN],
        [2, 2],
        [3, 3],
      ],
    });
    parseXml(svg);
    const [d] = [...svg.matchAll(/<path d="([^"]+)"/g)].map((m) => m[1]);
    expect(d.match(/M/g)).toHaveLength(2); // two pieces: 0, then 2-3
    expect(d.match(/L/g)).toHaveLength(1);
    expect(d).not.toContain('NaN');
    expect(svg).not.toContain('No data');
    const empty = lineChart('nothing', { a: [], b: [[0, NaN]] });
    parseXml(empty);
    expect(empty).toContain('>No data<');
    expect(empty).not.toContain('<path');
    // all zero: a 0..1 axis
    expect(lineChart('zero', { a: [[0, 0]] })).toContain('>1<');
  });

  it('a line chart takes legend names as given, a y tick format and the x range to cover; long legends wrap', () => {
    const svg = lineChart(
      'options',
      { '/api/general/products': [[0, 0.25]] },
      {
        label: (name) => name,
        formatY: (value) => `${value * 100} %`,
        maxX: 200,
      },
    );
    expect(svg).toContain('>/api/general/products<');
    expect(svg).toContain('>25 %<');
    expect(svg).toContain('>200 s<');
    const names = Object.fromEntries(
      Array.from({ length: 8 }, (_, i) => [`series number ${i}`, [[0, i]] as [number, number][]]),
    );
    const wrapped = lineChart('many', names, { label: (name) => name });
    parseXml(wrapped);
    const legendYs = new Set([...wrapped.matchAll(/<rect x="\d+" y="([\d.]+)" width="12"/g)].map((m) => m[1]));
    expect(legendYs.size).toBeGreaterThan(1);
    const xs = [...wrapped.matchAll(/<rect x="(\d+)" y="[\d.]+" width="12"/g)].map((m) => Number(m[1]));
    expect(Math.max(...xs)).toBeLessThan(760 - 100);
    expect(Number(/height="(\d+)"/.exec(wrapped)![1])).toBeGreaterThan(320);
  });

  it('escapes text that would break the XML', () => {
    const svg = barChart('a <b> & "c"', 'ms', [{ label: "<script>&'", value: 3 }]);
    parseXml(svg);
    expect(unescape(svg)).toContain(`<script>&'`);
    expect(escapeXml(`<&>"'`)).toBe('&lt;&amp;&gt;&quot;&apos;');
    parseXml(lineChart('empty', { nothing: [] }));
  });

  it('puts every tick of a line chart on a round number', () => {
    const ticks = (svg: string) =>
      [...svg.matchAll(/text-anchor="end" font-size="11" fill="#4b5563">([^<]+)</g)].map((m) => m[1]);
    expect(ticks(lineChart('fifths', { a: [[0, 22]] }))).toEqual(['0', '5', '10', '15', '20', '25']);
    expect(ticks(lineChart('quarters', { a: [[0, 7]] }))).toEqual(['0', '2', '4', '6', '8']);
    expect(lineChart('x in fifths', { a: [[250, 1]] })).toContain('>50 s<');
  });

  it('ends axes on round numbers', () => {
    expect([niceCeil(6900), niceCeil(6), niceCeil(5000), niceCeil(14.73), niceCeil(0.3), niceCeil(1)]).toEqual([
      8000, 8, 5000, 20, 0.4, 1,
    ]);
  });

  it('classifies and names figures by their suffix', () => {
    expect(figureKind('cachedReqPerSec')).toBe('throughput');
    expect(figureKind('drainRowsPerSec')).toBe('throughput');
    expect(figureKind('uncachedP99Ms')).toBe('latency');
    expect(figureKind('accepted')).toBe('other');
    expect(humanize('cachedReqPerSec')).toBe('cached req/s');
    expect(humanize('uncachedP99Ms')).toBe('uncached p99 (ms)');
  });

  it('writes report.md and the charts to a folder', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pick-report-'));
    try {
      const path = writeReport(dir, input);
      expect(readFileSync(path, 'utf8')).toBe(markdown);
      expect(readdirSync(dir).sort()).toEqual(['report.md', ...Object.keys(charts)].sort());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('targets on figures (bounds)', () => {
  const rush: BenchResult = {
    name: 'coupons',
    startedAt: '2026-12-03T10:00:00.000Z',
    cores: 2,
    cpuModel: 'Test CPU',
    figures: { drainRowsPerSec: 23_456, drainBacklog: 49_999, rssPeakMaxMb: 212, worker0RssPeakMb: 300 },
    ratios: { claimOverCachedList: 0.71 },
    targets: { claimOverCachedList: 0.7 },
    bounds: {
      drainRowsPerSec: { min: 20_000 },
      drainBacklog: { min: 50_000 },
      rssPeakMaxMb: { max: 300 },
      worker0RssPeakMb: { max: 300 },
      lagToRowP99Ms: { max: 1000 },
    },
  };

  it('judges min as >= and max as strictly below; a figure that is missing fails', () => {
    expect(verdicts(rush).map((v) => [v.name, v.kind, v.pass])).toEqual([
      ['claimOverCachedList', 'ratio', true],
      ['drainRowsPerSec', 'min', true],
      ['drainBacklog', 'min', false],
      ['rssPeakMaxMb', 'max', true],
      ['worker0RssPeakMb', 'max', false],
      ['lagToRowP99Ms', 'max', false],
    ]);
  });

  it('lists each bound with its measured figure, target and verdict', () => {
    const { markdown } = renderReport({ ...input, results: [rush], failures: {} });
    expect(markdown).toContain('## Figures vs targets');
    expect(markdown).toMatch(/\| coupons \| claim over cached list \| 0\.71× \| ≥ 0\.7× \| pass \|/);
    expect(markdown).toContain('| coupons | drain rows/s | 23,456 | ≥ 20,000 | pass |');
    expect(markdown).toContain('| coupons | drain backlog | 49,999 | ≥ 50,000 | **FAIL** |');
    expect(markdown).toContain('| coupons | rss peak max mb | 212 | < 300 | pass |');
    expect(markdown).toContain('| coupons | worker0 rss peak mb | 300 | < 300 | **FAIL** |');
    expect(markdown).toContain('| coupons | lag to row p99 (ms) | NaN | < 1,000 | **FAIL** |');
  });

  it('adds no such section when no benchmark sets bounds', () => {
    expect(renderReport(input).markdown).not.toContain('Figures vs targets');
  });
});
