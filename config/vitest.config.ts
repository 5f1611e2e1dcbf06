import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

import { testEnv } from '../src/testing/test-env.js';

/**
 * Tests run against the real MariaDB, Redis and S3 server. Each checkout can point them at
 * its own database / Redis db / ports (PICK_TEST_DB, PICK_TEST_REDIS_DB, PICK_TEST_PORT_BASE),
 * so several suites can share one machine. Files run one at a time: several start PM2 clusters.
 */
export default defineConfig({
  root: new URL('..', import.meta.url).pathname,
  plugins: [swc.vite({ module: { type: 'es6' } })],
  test: {
    include: [
      'src/**/*.spec.ts',
      'src/**/*.e2e.ts',
      'config/**/*.spec.ts',
      'deploy/**/*.spec.ts',
      'deploy/**/*.e2e.ts',
      'perf/**/*.spec.ts',
    ],
    // deploy/monitoring/panels.scenario.ts (npm run monitoring:panels) is a generator, not a test: never here.
    globalSetup: ['src/testing/global-setup.ts'],
    // Counts the responses each file checked against the API document (src/testing/openapi-check.ts).
    setupFiles: ['src/testing/openapi-counts.ts'],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    env: testEnv(),
  },
});
