import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { sleep, until } from './poll.js';

export interface PromSeries {
  metric: Record<string, string>;
  value?: [number, string];
  values?: [number, string][];
}

export interface PromTarget {
  labels: Record<string, string>;
  health: string;
  lastScrape: string;
  lastError: string;
}

export interface TestPrometheusOptions {
  port: number;
  job: string;
  /** host:port of each worker's metrics listener */
  targets: string[];
  /** static labels on every target (production's prometheus.yml labels each server's targets `server`) */
  labels?: Record<string, string>;
}

/**
 * A real Prometheus for tests (Debian's `prometheus`, .ci/run installs it) on a port of its own,
 * scraping the given targets every second, its data in a scratch directory removed on stop.
 * Used by deploy/monitoring/prometheus.e2e.ts and the panel renderer's scenario.
 */
export class TestPrometheus {
  readonly url: string;
  private readonly scratch = mkdtempSync(`${tmpdir()}/pick-prometheus-`);
  private readonly logFile = `${this.scratch}/prometheus.log`;
  private process: ChildProcess | undefined;

  constructor(readonly options: TestPrometheusOptions) {
    this.url = `http://127.0.0.1:${options.port}`;
  }

  async start(): Promise<void> {
    const labels = Object.entries(this.options.labels ?? {});
    writeFileSync(
      `${this.scratch}/prometheus.yml`,
      [
        'global:',
        '  scrape_interval: 1s',
        '  scrape_timeout: 1s',
        'scrape_configs:',
        `  - job_name: ${this.options.job}`,
        '    static_configs:',
        `      - targets: [${this.options.targets.map((t) => `'${t}'`).join(', ')}]`,
        ...(labels.length > 0
          ? ['        labels:', ...labels.map(([name, value]) => `          ${name}: '${value}'`)]
          : []),
        '',
      ].join('\n'),
    );
    const log = openSync(this.logFile, 'a');
    this.process = spawn(
      'prometheus',
      [
        `--config.file=${this.scratch}/prometheus.yml`,
        `--storage.tsdb.path=${this.scratch}/data`,
        `--web.listen-address=127.0.0.1:${this.options.port}`,
        '--storage.tsdb.retention.time=1h',
      ],
      { stdio: ['ignore', log, log] },
    );
    const spawned = await new Promise<Error | undefined>((resolve) => {
      this.process!.once('spawn', () => resolve(undefined));
      this.process!.once('error', resolve);
    });
    if (spawned)
      throw new Error(`prometheus is not installed (apt-get install prometheus; .ci/run does it): ${spawned}`);
    await until(
      'prometheus ready',
      () => fetch(`${this.url}/-/ready`).then((r) => r.status),
      (s) => s === 200,
      30_000,
      250,
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n${readFileSync(this.logFile, 'utf8').slice(-3000)}`);
    });
  }

  async stop(): Promise<void> {
    const prometheus = this.process;
    if (prometheus && prometheus.exitCode === null) {
      const exited = new Promise((resolve) => prometheus.once('exit', resolve));
      prometheus.kill('SIGTERM');
      await Promise.race([exited, sleep(10_000)]);
    }
    rmSync(this.scratch, { recursive: true, force: true });
  }

  async api<T>(path: string, params: Record<string, string> = {}): Promise<T> {
    const url = new URL(`${this.url}${path}`);
    for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
    const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    const body = (await response.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`${path} ${JSON.stringify(params)}: ${body.error}`);
    return body.data;
  }

  /** An instant query at `time` (unix seconds; now if omitted). */
  async query(expr: string, time?: number): Promise<PromSeries[]> {
    const data = await this.api<{ resultType: string; result: PromSeries[] }>('/api/v1/query', {
      query: expr,
      ...(time !== undefined && { time: time.toFixed(3) }),
    });
    return data.result;
  }

  /** The job's targets as Prometheus last scraped them. */
  async targets(): Promise<PromTarget[]> {
    return (await this.api<{ activeTargets: PromTarget[] }>('/api/v1/targets')).activeTargets.filter(
      (t) => t.labels.job === this.options.job,
    );
  }

  /** Until every target is up and has been scraped (the scrape started) after `after` (unix ms). */
  async scrapedAfter(after: number, timeoutMs = 15_000): Promise<void> {
    const count = this.options.targets.length;
    await until(
      `all ${count} targets scraped after ${new Date(after).toISOString()}`,
      () => this.targets(),
      (ts) => ts.length === count && ts.every((t) => t.health === 'up' && Date.parse(t.lastScrape) > after),
      timeoutMs,
      200,
    );
  }
}
