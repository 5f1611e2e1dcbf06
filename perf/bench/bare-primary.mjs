/**
 * The primary of the bench's bare node:http clusters (bare-server.mjs, bare-claim-server.mjs):
 * forks `workers` workers, prints "ready" once every one listens, stops them on SIGTERM/SIGINT.
 */
import cluster from 'node:cluster';

export function runPrimary(workers) {
  let listening = 0;
  for (let i = 0; i < workers; i++) {
    cluster.fork().on('listening', () => {
      if (++listening === workers) console.log('ready');
    });
  }
  const stop = () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
