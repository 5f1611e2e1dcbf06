import 'reflect-metadata';
import { assertNodeVersion, loadConfig } from '../config/env.js';
import { createApp, startApp } from './bootstrap.js';
import { exitOnConfigError } from './cli/cli-support.js';

async function main(): Promise<void> {
  assertNodeVersion();
  const config = loadConfig();
  const app = await createApp(config);
  await startApp(app, config);
  // PM2 (wait_ready) routes traffic to this worker only after it listens.
  process.send?.('ready');
}

main().catch(exitOnConfigError);
