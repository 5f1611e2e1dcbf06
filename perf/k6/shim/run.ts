import { Worker } from 'node:worker_threads';
import type { ShimPlan } from './worker.js';

export interface ShimResult {
  checks: Record<string, { passes: number; fails: number }>;
  metrics: Record<string, { value: number; tags: Record<string, string> }[]>;
  requests: { method: string; url: string; status: number; tags: Record<string, string> }[];
  teardownError?: string;
  options: any;
}

/** Runs a k6 script's setup, `iterations` calls of `exec`, and teardown, one VU, against a real server. */
export function runK6Script(plan: ShimPlan): Promise<ShimResult> {
  const control = new SharedArrayBuffer(8);
  const data = new SharedArrayBuffer(8 * 1024 * 1024);
  const state = new Int32Array(control);
  const bytes = new Uint8Array(data);
  const worker = new Worker(new URL('./worker.ts', import.meta.url), { workerData: { plan, control, data } });
  return new Promise((resolve, reject) => {
    worker.on('error', reject);
    worker.on('exit', (code) => reject(new Error(`k6 shim worker exited with ${code}`)));
    worker.on(
      'message',
      async (message: {
        type: string;
        request?: { method: string; url: string; body?: string; headers: Record<string, string> };
        result?: ShimResult;
      }) => {
        if (message.type === 'done') {
          resolve(message.result!);
          await worker.terminate();
          return;
        }
        const { method, url, body, headers } = message.request!;
        let reply: { status: number; body: string; headers: Record<string, string> };
        try {
          const response = await fetch(url, {
            method,
            body,
            headers: body && !headers['content-type'] ? { ...headers, 'content-type': 'application/json' } : headers,
          });
          reply = {
            status: response.status,
            body: await response.text(),
            headers: Object.fromEntries(response.headers),
          };
        } catch {
          reply = { status: 0, body: '', headers: {} }; // like k6: a transport error is status 0
        }
        const encoded = new TextEncoder().encode(JSON.stringify(reply));
        bytes.set(encoded.subarray(0, bytes.length));
        Atomics.store(state, 1, Math.min(encoded.length, bytes.length));
        Atomics.store(state, 0, 1);
        Atomics.notify(state, 0);
      },
    );
  });
}
