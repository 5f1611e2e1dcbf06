import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { afterAll } from 'vitest';
import { openApiChecker, openApiCountsFile } from './openapi-check.js';

// A setup file (config/vitest.config.ts): after each test file, its worker adds what it checked
// against the API document; global-setup.ts prints the run's total.
afterAll(() => {
  const checker = openApiChecker();
  if (checker.validated === 0) return;
  const file = openApiCountsFile();
  mkdirSync(dirname(file), { recursive: true });
  appendFileSync(file, `${JSON.stringify({ validated: checker.validated, seen: [...checker.seen] })}\n`);
  checker.validated = 0;
  checker.seen.clear();
});
