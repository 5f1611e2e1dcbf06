// Runs one k6 script inside a worker thread with stand-ins for k6's modules (node:module hooks map
// `k6`, `k6/http`, … to the files beside this one). HTTP is synchronous as in k6: the worker blocks
// on a shared buffer while the parent thread fetches. Node strips the scripts' types natively.
import { readFileSync } from 'node:fs';
import { registerHooks } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';

export interface ShimPlan {
  script: string;
  env: Record<string, string>;
  /** exported function to iterate, e.g. "shop" or "rush" */
  exec: string;
  iterations: number;
  setup: boolean;
  teardown: boolean;
}

const { plan, control, data } = workerData as { plan: ShimPlan; control: SharedArrayBuffer; data: SharedArrayBuffer };
const state = new Int32Array(control);
const bytes = new Uint8Array(data);

function fetchSync(request: { method: string; url: string; body?: string; headers: Record<string, string> }): {
  status: number;
  body: string;
  headers: Record<string, string>;
} {
  Atomics.store(state, 0, 0);
  parentPort!.postMessage({ type: 'fetch', request });
  Atomics.wait(state, 0, 0);
  return JSON.parse(new TextDecoder().decode(bytes.slice(0, state[1])));
}

const shim = {
  checks: {},
  metrics: {} as Record<string, { value: number; tags: Record<string, string> }[]>,
  requests: [] as unknown[],
  iteration: 0,
  scenario: plan.exec,
  k6ApiUrl: plan.env.K6_API_URL,
  fetchSync,
};
Object.assign(globalThis, { __k6shim: shim, __ENV: plan.env, open: (path: string) => readFileSync(path, 'utf8') });

const modules: Record<string, string> = {
  k6: 'k6.ts',
  'k6/http': 'k6-http.ts',
  'k6/metrics': 'k6-metrics.ts',
  'k6/data': 'k6-data.ts',
  'k6/execution': 'k6-execution.ts',
};
registerHooks({
  resolve(specifier, context, next) {
    const file = modules[specifier];
    return file ? { url: new URL(file, import.meta.url).href, shortCircuit: true } : next(specifier, context);
  },
});

const script = (await import(new URL(plan.script, 'file://').href)) as Record<string, any>;
const setupData = plan.setup && typeof script.setup === 'function' ? script.setup() : undefined;
for (let i = 0; i < plan.iterations; i++) {
  shim.iteration = i;
  script[plan.exec](setupData);
}
let teardownError: string | undefined;
if (plan.teardown && typeof script.teardown === 'function') {
  try {
    script.teardown(setupData);
  } catch (error) {
    teardownError = error instanceof Error ? error.message : String(error);
  }
}
parentPort!.postMessage({
  type: 'done',
  result: {
    checks: shim.checks,
    metrics: shim.metrics,
    requests: shim.requests,
    teardownError,
    options: JSON.parse(JSON.stringify(script.options ?? {})),
  },
});
