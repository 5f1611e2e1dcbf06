import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { assertNodeVersion } from '../config/env.js';

/**
 * The real entry point (what PM2 runs) refuses a bad environment or an old Node: it exits
 * non-zero with a message naming the problem, before connecting to anything.
 */
const root = new URL('../', import.meta.url).pathname;

function runMain(
  env: Record<string, string>,
  node = process.execPath,
): Promise<{ code: number | null; signal: string | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(node, ['dist/src/main.js'], {
      cwd: root,
      env: { ...process.env, ...env, PORT: env.PORT ?? '0', HOST: '127.0.0.1' },
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, output });
    });
  });
}

describe('node dist/src/main.js', () => {
  it.each([
    [{ PORT: 'abc' }, 'PORT="abc"'],
    [{ DB_DRIVER: 'oracle' }, 'DB_DRIVER="oracle"'],
    [{ REDIS_PORT: '99999' }, 'REDIS_PORT="99999"'],
    [{ NODE_ENV: 'production' }, 'JWT_ACCESS_SECRET'],
    [
      {
        NODE_ENV: 'production',
        JWT_ACCESS_SECRET: 'a-production-access-secret',
        JWT_REFRESH_SECRET: 'a-production-refresh-secret',
      },
      'OPS_TOKEN: must be set in production',
    ],
  ])('exits 1 on %j, naming the variable', async (env, named) => {
    const result = await runMain(env);
    expect(result.signal).toBeNull();
    expect(result.code).toBe(1);
    expect(result.output).toContain('Invalid environment configuration');
    expect(result.output).toContain(named);
  });

  // The machine's own Node (20 here) must get a message, not a crash inside a native module.
  const systemNode = ['/usr/bin/node', '/usr/local/bin/node'].find((path) => existsSync(path));
  const systemVersion = systemNode
    ? spawnSync(systemNode, ['--version'], { encoding: 'utf8' }).stdout.trim().replace(/^v/, '')
    : '';
  const [major, minor] = systemVersion.split('.').map(Number);
  const old = systemNode !== undefined && (major < 22 || (major === 22 && minor < 17));
  it.skipIf(!old)(`refuses the machine's older Node (${systemVersion || 'none'}) with a message`, async () => {
    const result = await runMain({}, systemNode!);
    expect(result.signal).toBeNull();
    expect(result.code).toBe(1);
    expect(result.output).toContain(`Pick needs Node >= 22.17`);
    expect(result.output).toContain(systemVersion);
    // main.ts cannot import config/env.ts (an old Node must parse it): the CLIs' check says the same.
    expect(() => assertNodeVersion(systemVersion)).toThrow(result.output.trim());
  });
});
