import { Gauge } from 'prom-client';

/**
 * Readiness as metrics, read at each scrape with the same checks as /health/ready (so an alert
 * sees what the deploy gate and the load balancer see), per worker.
 */
type Readiness = () => Promise<{ results: Partial<Record<string, { status: 'up' | 'down' }>>; ok: boolean }>;

let source: Readiness | undefined;
let last: { at: number; result: ReturnType<Readiness> } | undefined;

export function setReadinessSource(next: Readiness | undefined): void {
  source = next;
  last = undefined;
}

// Both gauges from one run of the checks per scrape (prom-client collects metrics concurrently).
function readiness(): ReturnType<Readiness> | undefined {
  if (!source) return undefined;
  if (!last || Date.now() - last.at > 500) last = { at: Date.now(), result: source() };
  return last.result;
}

new Gauge({
  name: 'pick_ready',
  help: '1 when this worker is ready (MySQL, Redis, the broadcast transport and the queue answer, not draining), else 0; what /health/ready says',
  async collect() {
    const result = readiness();
    if (result) this.set((await result).ok ? 1 : 0);
  },
});

new Gauge({
  name: 'pick_readiness_check_up',
  help: 'Each readiness check of this worker: 1 up, 0 down (storage is reported, it does not gate readiness)',
  labelNames: ['check'],
  async collect() {
    const result = readiness();
    if (!result) return;
    const { results } = await result;
    for (const [check, outcome] of Object.entries(results)) this.set({ check }, outcome?.status === 'up' ? 1 : 0);
  },
});
