// PM2 process file. Start it only through the npm scripts (`npm run up`, `npm run pm2 -- …`):
// they run PM2's daemon, and so every worker, on the project's Node 24, with a project-local PM2_HOME.
//
// Settings read from the environment when PM2 starts:
//   PICK_APP_NAME   process name (default "pick"); several local "servers" use different names
//   PICK_INSTANCES  worker count (default: one per core)
//   PICK_CONTAINER  set by the image: logs go only to stdout/stderr (pm2-runtime streams them to
//                   Docker's log driver, which rotates them), never to files inside the container
//   PICK_ADMIN_PORT when set, a second app "<name>-admin": one more process, on this port, that
//                   Nginx sends /api/admin/ to (deploy/nginx/pick.conf.template). It runs the same
//                   app but takes no queue jobs and no shopper traffic, so an admin's reads (the live
//                   event status, polled during a rush) do not wait behind claims for a busy
//                   worker's event loop. Its metrics listener is the port after the workers' ones.
//   PORT, and every variable of .env.example, passed through to the workers
import { cpus } from 'node:os';

const instances =
  process.env.PICK_INSTANCES && process.env.PICK_INSTANCES !== 'max' ? Number(process.env.PICK_INSTANCES) : 'max';

const inContainer = process.env.PICK_CONTAINER === '1';
const name = process.env.PICK_APP_NAME ?? 'pick';
const adminPort = process.env.PICK_ADMIN_PORT ? Number(process.env.PICK_ADMIN_PORT) : 0;
if (!Number.isInteger(adminPort) || adminPort < 0 || adminPort > 65535) {
  throw new Error(`PICK_ADMIN_PORT=${process.env.PICK_ADMIN_PORT}: must be a port number`);
}
// Workers' metrics ports are OPS_PORT + instance (src/metrics/ops-server.ts); the admin process
// takes the next one. PM2 starts one worker per CPU for 'max', as counted here.
const opsPort = Number(process.env.OPS_PORT || 9464);
const workerCount = instances === 'max' ? cpus().length : instances;

const apps = [
  {
    name,
    script: './dist/src/main.js',
    // PICK_APP_DIR: deploys run from a `current` symlink so `pm2 reload` picks up each new release.
    cwd: process.env.PICK_APP_DIR ?? import.meta.dirname,
    exec_mode: 'cluster',
    instances,
    // A worker receives traffic only after it listens and calls process.send('ready').
    wait_ready: true,
    // Boot (Nest + MikroORM + Redis) takes 1-3 s on a loaded machine; leave room.
    listen_timeout: 20_000,
    // SIGINT first: Fastify stops accepting, drains in-flight requests, Bull waits for active jobs.
    kill_timeout: 15_000,
    max_memory_restart: '1G',
    min_uptime: 5_000,
    max_restarts: 20,
    exp_backoff_restart_delay: 200,
    merge_logs: true,
    // No @pm2/io in the workers: its probes cost ~1.3% of a worker's CPU in a claim rush's profile, and the
    // workers' metrics are Prometheus' (src/metrics); pm2 ls still shows each process's CPU and memory.
    pmx: false,
    ...(inContainer ? { out_file: '/dev/null', error_file: '/dev/null' } : {}),
    time: false,
    // V8 heap settings, as node_args: PM2 forks cluster workers with its daemon's environment, so a
    // NODE_OPTIONS in `env` here never reached a worker (it was read only after V8 had started).
    // --max-semi-space-size=16 (MiB): on a machine with much memory Node 24 sizes the young
    //   generation at 128 MiB per worker.
    // --heap-growing-percent=50: V8 lets the old generation grow to up to 4x its live size before
    //   a full GC; in a rush a worker's old space climbed from 56 to 233 MiB of mostly garbage
    //   (75 MiB live after the next full GC). At 1.5x it is collected sooner.
    // npm run bench (coupons, 2 cores, 2026-12-06), worker RSS peak / claims req/s / drain rows/s:
    //   neither flag 470-474 MB / 3,972 / 35,650-42,000; semi-space 16 alone 379-403 MB / 3,311 /
    //   34,971-39,444; both 270 MB / 3,974 / 39,541. (--optimize-for-size: 206 MB but 1,806 claims/s.)
    // PICK_NODE_ARGS (space-separated) adds flags for a diagnosis, e.g. `--cpu-prof --cpu-prof-dir=…` for
    // `npm run bench` with BENCH_CPU_PROFILE=1 (perf/README.md); unset in production.
    node_args: [
      '--max-semi-space-size=16',
      '--heap-growing-percent=50',
      ...(process.env.PICK_NODE_ARGS ?? '').split(' ').filter(Boolean),
    ],
  },
];

if (adminPort > 0) {
  apps.push({
    ...apps[0],
    name: `${name}-admin`,
    instances: 1,
    env: {
      // The name it reports (x-served-by, logs).
      PICK_APP_NAME: `${name}-admin`,
      PORT: String(adminPort),
      QUEUE_PROCESSORS_ENABLED: 'false',
      OPS_PORT: opsPort === 0 ? '0' : String(opsPort + workerCount),
    },
  });
}

const config = { apps };

export { config as 'module.exports' };
