import 'reflect-metadata';
import { assertNodeVersion, loadConfig } from '../config/env.js';
import { exitOnConfigError } from './cli/cli-support.js';

async function main(): Promise<void> {
  assertNodeVersion();
  const config = loadConfig();
  // Loaded only after the checks: the app graph pulls in native modules (argon2) that crash
  // (SIGSEGV) on an older Node before any check could name the problem.
  const { createApp, startApp } = await import('./bootstrap.js');
  const app = await createApp(config);
  await startApp(app, config);
  // PM2 (wait_ready) routes traffic to this worker only after it listens.
  process.send?.('ready');
}

main().catch(exitOnConfigError);
