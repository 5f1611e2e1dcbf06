import { freshGet } from '../../src/testing/http.js';
import { serverOf } from './nginx.js';

export interface LoadReport {
  sent: number;
  failed: number;
  statuses: Record<string, number>;
  byServer: Record<string, number>;
}

/**
 * GETs to `url` from `concurrency` loops until stop() resolves; counts every response and who
 * served it. `freshConnections`: one TCP connection per request (freshGet), for loads through an
 * nginx that a deploy reloads.
 */
export function steadyLoad(url: string, concurrency: number, options: { freshConnections?: boolean } = {}) {
  const report: LoadReport = { sent: 0, failed: 0, statuses: {}, byServer: {} };
  let running = true;
  const loops = Array.from({ length: concurrency }, async () => {
    while (running) {
      report.sent++;
      let key: string;
      try {
        let status: number;
        let servedBy: string | null;
        if (options.freshConnections) {
          ({ status, servedBy } = await freshGet(url, 15_000));
        } else {
          const response = await fetch(url, { signal: AbortSignal.timeout(15_000) });
          await response.arrayBuffer();
          ({ status } = response);
          servedBy = response.headers.get('x-served-by');
        }
        key = String(status);
        if (status !== 200) report.failed++;
        const server = serverOf(servedBy);
        report.byServer[server] = (report.byServer[server] ?? 0) + 1;
      } catch (error) {
        report.failed++;
        key = `error:${(error as Error).name}`;
      }
      report.statuses[key] = (report.statuses[key] ?? 0) + 1;
    }
  });
  return {
    report,
    stop: async () => {
      running = false;
      await Promise.all(loops);
      return report;
    },
  };
}
