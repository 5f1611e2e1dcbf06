import { describe, expect, it } from 'vitest';
import { ReadinessRegistry } from './readiness.js';

describe('ReadinessRegistry', () => {
  it('is ok while only non-gating checks fail, and lists them as degraded, in a fixed order', async () => {
    const registry = new ReadinessRegistry();
    registry.register({ name: 'storage', gates: false, probe: () => Promise.reject(new Error('bucket gone')) });
    registry.register({ name: 'mysql', gates: true, probe: () => Promise.resolve() });
    const outcome = await registry.runAll();
    expect(outcome).toEqual({
      ok: true,
      degraded: ['storage'],
      results: { mysql: { status: 'up' }, storage: { status: 'down', error: 'bucket gone' } },
    });
    expect(Object.keys(outcome.results)).toEqual(['mysql', 'storage']);
  });

  it('is not ok when a gating check fails or hangs past its timeout', async () => {
    const registry = new ReadinessRegistry();
    registry.register({ name: 'redis', gates: true, probe: () => new Promise(() => {}) });
    const started = Date.now();
    const outcome = await registry.runAll();
    expect(outcome.ok).toBe(false);
    expect(outcome.results.redis).toEqual({ status: 'down', error: 'timed out after 1500 ms' });
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('refuses a second check of the same name', () => {
    const registry = new ReadinessRegistry();
    registry.register({ name: 'queue', gates: true, probe: () => Promise.resolve() });
    expect(() => registry.register({ name: 'queue', gates: true, probe: () => Promise.resolve() })).toThrow(/twice/);
  });

  it('with gatingOnly, does not run the checks that do not gate', async () => {
    const registry = new ReadinessRegistry();
    let storageProbes = 0;
    registry.register({ name: 'storage', gates: false, probe: async () => void storageProbes++ });
    registry.register({ name: 'redis', gates: true, probe: () => Promise.resolve() });
    expect(await registry.runAll({ gatingOnly: true })).toEqual({
      ok: true,
      degraded: [],
      results: { redis: { status: 'up' } },
    });
    expect(storageProbes).toBe(0);
  });
});
