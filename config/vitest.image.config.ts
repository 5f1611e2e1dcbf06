import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

import { testEnv } from '../src/testing/test-env.js';

/**
 * `npm run test:image`: the release as production runs it, in real containers (podman, the
 * project's Dockerfile built with buildah) behind Debian's nginx. Not part of `npm test`: it
 * builds images. Its own database and Redis key prefix (PICK_TEST_DB + "_image").
 */
const env = testEnv({ ...process.env, PICK_TEST_DB: `${process.env.PICK_TEST_DB ?? 'pick_test'}_image` });

export default defineConfig({
  root: new URL('..', import.meta.url).pathname,
  plugins: [swc.vite({ module: { type: 'es6' } })],
  test: {
    include: ['deploy/container/**/*.image.ts'],
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 900_000,
    pool: 'forks',
    env,
  },
});
