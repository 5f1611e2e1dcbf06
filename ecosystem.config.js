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
      // --max-semi-space-size=16 (MiB): on a machine with much memory Node 24's V8 sizes the young
      // generation at 128 MiB per worker, most of a worker's RSS (live heap after a rush: ~73 MiB).
      // At 16 a 2-core box measured RSS 257-286 MB after 30,000 claims (340-356 MB at the default)
      // and the same claims and list req/s within run-to-run noise.
      env: { NODE_OPTIONS: '--enable-source-maps --max-semi-space-size=16' },
    },
  ],
};

export { config as 'module.exports' };
