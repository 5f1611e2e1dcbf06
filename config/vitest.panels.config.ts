import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

import { testEnv } from '../src/testing/test-env.js';

/**
 * `npm run monitoring:panels`: deploy/monitoring/panels.scenario.ts renders the Grafana dashboard's
 * panels from a real Prometheus scraping a real cluster under a few minutes of traffic. A generator
 * of committed images, not a test: `npm test` (vitest.config.ts) never includes it. Same setup as
 * the tests (build, fresh test database, the run's S3 server), same test environment.
 */
export default defineConfig({
  root: new URL('..', import.meta.url).pathname,
  plugins: [swc.vite({ module: { type: 'es6' } })],
  test: {
    include: ['deploy/monitoring/panels.scenario.ts'],
    globalSetup: ['src/testing/global-setup.ts'],
    setupFiles: ['src/testing/openapi-counts.ts'],
    fileParallelism: false,
    testTimeout: 900_000,
    hookTimeout: 300_000,
    pool: 'forks',
    env: testEnv(),
  },
});
