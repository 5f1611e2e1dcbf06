// PM2 process file. Start it only through the npm scripts (`npm run up`, `npm run pm2 -- …`):
// they run PM2's daemon, and so every worker, on the project's Node 24, with a project-local PM2_HOME.
//
// Settings read from the environment when PM2 starts:
//   PICK_APP_NAME   process name (default "pick"); several local "servers" use different names
//   PICK_INSTANCES  worker count (default: one per core)
//   PICK_CONTAINER  set by the image: logs go only to stdout/stderr (pm2-runtime streams them to
//                   Docker's log driver, which rotates them), never to files inside the container
//   PORT, and every variable of .env.example, passed through to the workers
const instances =
  process.env.PICK_INSTANCES && process.env.PICK_INSTANCES !== 'max' ? Number(process.env.PICK_INSTANCES) : 'max';

const inContainer = process.env.PICK_CONTAINER === '1';

const config = {
  apps: [
    {
      name: process.env.PICK_APP_NAME ?? 'pick',
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
      node_args: ['--max-semi-space-size=16', '--heap-growing-percent=50'],
    },
  ],
};

export { config as 'module.exports' };
