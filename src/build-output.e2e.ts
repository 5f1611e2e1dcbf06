import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/** What `nest build` wrote (global-setup builds before the tests): shipped code only, no test helpers. */
const dist = new URL('../dist', import.meta.url).pathname;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [relative(dist, path)];
  });
}

describe('dist/', () => {
  it('holds the app and no test code', () => {
    const all = files(dist);
    expect(all).toContain('src/main.js');
    expect(all.filter((file) => /(^|\/)testing\//.test(file) || /\.(spec|e2e)\.js(\.map)?$/.test(file))).toEqual([]);
    // Nothing shipped imports a test helper or a test runner.
    const js = all.filter((file) => file.endsWith('.js'));
    const leaks = js.filter((file) =>
      /from ['"](vitest(\/[^'"]*)?|[^'"]*\/testing\/[^'"]*)['"]/.test(readFileSync(join(dist, file), 'utf8')),
    );
    expect(leaks).toEqual([]);
  });
});
