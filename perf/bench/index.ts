/**
 * `npm run bench [-- catalog|coupons|all]` (default all), or `npm run bench -- report <dir>` to render
 * a results folder's report again: runs the local benchmarks one after the
 * other (each starts its own PM2 cluster on this machine), shows progress on stderr (one updating
 * line on a terminal, plain lines otherwise), and writes perf/results/<stamp>/ with each
 * benchmark's JSON, report.md, the SVG charts and bench.log (everything the benchmarks printed). Exits 1 when a benchmark failed to produce a
 * result or a ratio missed its target.
 */
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { writeReport, type ReportInput } from './report.js';
import { machine, onProgress, verdicts, writeResult, type BenchResult } from './support.js';

const BENCHMARKS = ['catalog', 'coupons', 'flood', 'replicas'] as const;
type BenchName = (typeof BENCHMARKS)[number];

export function selectBenchmarks(argv: string[]): BenchName[] {
  const choice = argv.find((arg) => !arg.startsWith('-')) ?? 'all';
  if (choice === 'all') return [...BENCHMARKS];
  if ((BENCHMARKS as readonly string[]).includes(choice)) return [choice as BenchName];
  throw new Error(`unknown benchmark "${choice}": use ${BENCHMARKS.join(', ')} or all`);
}

/** One status line on stderr: redrawn in place on a terminal, printed as plain lines when piped. */
class ProgressLine {
  private readonly tty = Boolean(process.stderr.isTTY);
  private readonly frames = '⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏';
  private frame = 0;
  private timer?: NodeJS.Timeout;
  private label = '';
  private detail = '';
  private started = 0;
  private stepStarted = 0;

  begin(label: string): void {
    this.label = label;
    this.detail = 'starting';
    this.started = Date.now();
    this.stepStarted = this.started;
    if (this.tty) this.timer = setInterval(() => this.draw(), 250);
    else process.stderr.write(`${this.stamp()} ${label}: started\n`);
  }

  update(detail: string): void {
    this.detail = detail;
    this.stepStarted = Date.now();
    if (this.tty) this.draw();
    else process.stderr.write(`${this.stamp()} ${this.label}: ${detail}\n`);
  }

  end(outcome: string): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    const line = `${this.label}: ${outcome} (${this.elapsed()})`;
    process.stderr.write(this.tty ? `\r\x1b[2K${line}\n` : `${this.stamp()} ${line}\n`);
  }

  private elapsed(): string {
    const seconds = Math.round((Date.now() - this.started) / 1000);
    return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
  }

  private stamp(): string {
    return new Date().toISOString().slice(11, 19);
  }

  private draw(): void {
    this.frame = (this.frame + 1) % this.frames.length;
    const columns = process.stderr.columns || 100;
    const step = Math.round((Date.now() - this.stepStarted) / 1000);
    const line = `${this.frames[this.frame]} ${this.label} ${this.elapsed()}  ${this.detail} (${step} s)`;
    process.stderr.write(`\r\x1b[2K${line.slice(0, columns - 1)}`);
  }
}

async function loadBenchmark(name: BenchName): Promise<() => Promise<BenchResult>> {
  const file = new URL(`./${name}.ts`, import.meta.url);
  if (!existsSync(file)) throw new Error(`perf/bench/${name}.ts does not exist yet`);
  const module = (await import(file.href)) as { default?: () => Promise<BenchResult> };
  if (typeof module.default !== 'function') throw new Error(`perf/bench/${name}.ts has no default-exported run()`);
  return module.default;
}

/** What a run adds to its benchmarks' results (run.json), so its report can be rendered again. */
type RunInfo = Pick<ReportInput, 'startedAt' | 'finishedAt' | 'failures' | 'nodeVersion'>;

/** `npm run bench -- report <dir>`: renders report.md and the charts again from the JSON results in dir. */
function rerender(dir: string): number {
  const run = existsSync(`${dir}/run.json`)
    ? (JSON.parse(readFileSync(`${dir}/run.json`, 'utf8')) as RunInfo)
    : undefined;
  const results = readdirSync(dir)
    .filter((file) => file.endsWith('.json') && file !== 'run.json')
    .map((file) => JSON.parse(readFileSync(`${dir}/${file}`, 'utf8')) as BenchResult)
    .sort((a, b) => a.startedAt.localeCompare(b.startedAt));
  if (results.length === 0) throw new Error(`no benchmark results (*.json) in ${dir}`);
  const { cores, cpuModel } = results[0];
  console.log(
    writeReport(dir, {
      results,
      cores,
      cpuModel,
      startedAt: results[0].startedAt,
      finishedAt: statSync(dir).mtime.toISOString(),
      ...run,
    }),
  );
  return 0;
}

async function main(): Promise<number> {
  if (process.argv[2] === 'report') return rerender(process.argv[3] ?? '.');
  const selected = selectBenchmarks(process.argv.slice(2));
  const startedAt = new Date().toISOString();
  const stamp = startedAt.replace(/[:.]/g, '-');
  const results: BenchResult[] = [];
  const failures: Record<string, string> = {};
  const progress = new ProgressLine();
  onProgress((text) => progress.update(text));

  const dir = new URL(`../results/${stamp}`, import.meta.url).pathname;
  mkdirSync(dir, { recursive: true });
  // The benchmarks narrate with console.log: keep every line in bench.log and show the latest on
  // the progress line, so the terminal shows one line per benchmark.
  const log = (line: string) => appendFileSync(`${dir}/bench.log`, `${new Date().toISOString()} ${line}\n`);
  const { log: consoleLog, info: consoleInfo } = console;
  console.log = console.info = (...args: unknown[]) => {
    const text = args.map((arg) => (typeof arg === 'string' ? arg : inspect(arg))).join(' ');
    log(text);
    const first = text.split('\n').find((line) => line.trim() !== '');
    if (first) progress.update(first.replace(/^\[[\w ]+\]\s*/, ''));
  };

  for (const [index, name] of selected.entries()) {
    log(`--- ${name}`);
    progress.begin(`[${index + 1}/${selected.length}] ${name}`);
    try {
      const run = await loadBenchmark(name);
      const result = await run();
      writeResult(result, stamp);
      results.push(result);
      const missed = verdicts(result).filter((verdict) => !verdict.pass);
      progress.end(missed.length === 0 ? 'done' : `done, target missed: ${missed.map((v) => v.name).join(', ')}`);
    } catch (error) {
      failures[name] = error instanceof Error ? (error.stack ?? error.message) : String(error);
      log(`${name} failed: ${failures[name]}`);
      progress.end(`failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  onProgress(undefined);
  console.log = consoleLog;
  console.info = consoleInfo;

  const { cores, cpuModel } = machine();
  const run: RunInfo = {
    startedAt,
    finishedAt: new Date().toISOString(),
    failures,
    nodeVersion: process.versions.node,
  };
  writeFileSync(`${dir}/run.json`, JSON.stringify(run, null, 2) + '\n');
  const report = writeReport(dir, { results, cores, cpuModel, ...run });
  console.log(report);
  const belowTarget = results.some((r) => verdicts(r).some((verdict) => !verdict.pass));
  return Object.keys(failures).length > 0 || belowTarget ? 1 : 0;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exit(2);
    },
  );
}
