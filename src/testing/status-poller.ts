import { Worker } from 'node:worker_threads';

/** One answer of the admin's status poll: when it was sent, how long it took, what it said. */
export interface StatusPoll {
  phase: string;
  /** performance.now() of the poller's thread when the request was sent. */
  at: number;
  ms: number;
  status: number;
  servedBy?: string;
  issued?: number;
  pending?: number;
  error?: string;
}

/**
 * An admin polling GET /api/admin/events/:id/status, in a thread of its own: its own event loop, so
 * the thousands of requests a rush test or a benchmark sends from the main thread never delay its
 * timing. One keep-alive connection, one poll at a time (an admin's browser, or nginx's upstream
 * keep-alive: it reaches one worker and never waits in the accept queue behind a rush's new
 * connections): each time is the endpoint's answer alone, from the request to the whole body read.
 * A poll every `everyMs`, or as soon as the previous answer is in when it took longer (no backlog
 * sent at once). `mark(phase)` labels the polls that follow.
 */
const POLLER = `
const { parentPort, workerData } = require('node:worker_threads');
const http = require('node:http');
const { url, token, everyMs } = workerData;
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
let phase = 'warmup';
let stopped = false;
let warm = false;
const polls = [];
parentPort.on('message', (message) => {
  if (message === 'stop') stopped = true;
  else phase = message;
});
function poll(phaseAtStart) {
  const started = performance.now();
  return new Promise((resolve) => {
    const done = (entry) => {
      polls.push({ phase: phaseAtStart, at: started, ms: performance.now() - started, ...entry });
      resolve();
    };
    const request = http.get(url, { agent, headers: { authorization: 'Bearer ' + token } }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => (text += chunk));
      response.on('end', () => {
        let coupon;
        try {
          coupon = JSON.parse(text).coupons[0];
        } catch {}
        done({ status: response.statusCode, servedBy: response.headers['x-served-by'], issued: coupon && coupon.issued, pending: coupon && coupon.pending });
      });
    });
    request.on('error', (error) => done({ status: 0, error: String(error) }));
  });
}
(async () => {
  const started = performance.now();
  for (let i = 0; !stopped; i++) {
    const due = started + i * everyMs;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    else i = Math.floor((performance.now() - started) / everyMs);
    if (stopped) break;
    await poll(phase);
    if (i >= 4 && !warm) {
      warm = true;
      parentPort.postMessage('warm');
    }
  }
  agent.destroy();
  parentPort.postMessage(polls);
})();
`;

export function startStatusPoller(url: string, token: string, everyMs = 100) {
  const worker = new Worker(POLLER, { eval: true, workerData: { url, token, everyMs } });
  /** Resolves once five polls have been answered (the connection is open and the route warm). */
  const warm = new Promise<void>((resolve, reject) => {
    worker.once('error', reject);
    worker.on('message', (message) => message === 'warm' && resolve());
  });
  return {
    warm,
    mark: (phase: string) => worker.postMessage(phase),
    async stop(): Promise<StatusPoll[]> {
      const result = new Promise<StatusPoll[]>((resolve) =>
        worker.on('message', (message) => typeof message !== 'string' && resolve(message as StatusPoll[])),
      );
      worker.postMessage('stop');
      const polls = await result;
      await worker.terminate();
      return polls;
    },
  };
}
