import { performance } from 'node:perf_hooks';
import { freshGet, type HttpResult } from './http.js';

export interface ProbedServer {
  url: string;
  workers: number;
}

export type ProbeResult = HttpResult & { servedBy: string };

/**
 * Test helper: GETs `path` (or sends `request`) on new connections to every server (PM2 round-robins them over its
 * workers) until every worker of every server has answered with a response `fresh` accepts.
 * Resolves with the performance.now() at which the last worker did.
 */
export async function untilEveryWorker(
  servers: ProbedServer[],
  path: string,
  fresh: (response: ProbeResult) => boolean,
  options: {
    timeoutMs?: number;
    onResponse?: (response: ProbeResult, ms: number) => void;
    parallel?: number;
    request?: (url: string) => Promise<ProbeResult>;
  } = {},
): Promise<number> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  const freshWorkers = servers.map(() => new Set<string>());
  const lastSeen = new Map<string, string>();
  let doneAt = 0;
  const done = () => freshWorkers.every((set, index) => set.size >= servers[index].workers);
  const probe = async (index: number) => {
    while (!done() && Date.now() < deadline) {
      const sentAt = performance.now();
      const response = await (options.request ?? freshGet)(servers[index].url + path);
      options.onResponse?.(response, performance.now() - sentAt);
      lastSeen.set(response.servedBy, `${response.status} ${JSON.stringify(response.body).slice(0, 160)}`);
      if (fresh(response)) {
        freshWorkers[index].add(response.servedBy);
        if (done() && doneAt === 0) doneAt = performance.now();
      }
    }
  };
  await Promise.all(servers.flatMap((_, index) => Array.from({ length: options.parallel ?? 2 }, () => probe(index))));
  if (!done()) {
    const stale = [...lastSeen].filter(([worker]) => !freshWorkers.some((set) => set.has(worker)));
    const fresh = freshWorkers.map((set) => [...set]);
    throw new Error(
      `not every worker fresh on ${path} within the timeout; fresh: ${JSON.stringify(fresh)}; last answers of the others: ${JSON.stringify(stale)}`,
    );
  }
  return doneAt;
}

/** How many times each value occurs (e.g. "200 srv-a" -> 10), in order of first occurrence. */
export function countEach(values: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}
