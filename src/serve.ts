import 'reflect-metadata';
import { loadConfig } from '../config/env.js';
import { exitOnConfigError } from './cli/cli-support.js';

// Loaded by main.ts once the Node version is known to be new enough.
async function serve(): Promise<void> {
  const config = loadConfig();
  // libuv reads this when its pool first gets work (nothing has yet), so the validated setting,
  // default included, is the pool size: hashing takes PASSWORD_HASH_CONCURRENCY threads at most,
  // fs and dns.lookup keep the rest.
  process.env.UV_THREADPOOL_SIZE = String(config.UV_THREADPOOL_SIZE);
  // Loaded only after the checks: the app graph pulls in native modules (argon2, msgpackr) that
  // could crash on an older Node before any check could name the problem.
  const { createApp, startApp } = await import('./bootstrap.js');
  const app = await createApp(config);
  await startApp(app, config);
  // PM2 (wait_ready) routes traffic to this worker only after it listens.
  process.send?.('ready');
}

serve().catch(exitOnConfigError);
