import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/env.js';
import { AppError } from '../common/errors.js';
import { ClaimLimits } from './claim-limit.js';
import type { LimitName } from './limits.js';
import type { RateLimiters } from './rate-limiters.js';

const THROTTLED = 3;
const isOver = (decision: { result: number }) => decision.result === THROTTLED;

/** ClaimLimits over a stand-in for the library's limiters: what it was asked to count, in memory or in Redis. */
function claimLimits(env: Record<string, string> = {}) {
  const config = loadConfig({ REDIS_PREFIX: 'p', ...env });
  const calls: string[] = [];
  let overInMemory = false;
  const limiters = {
    enabled: config.THROTTLE_ENABLED,
    tooMany: (limit: LimitName, ms: number) => {
      calls.push(`429 ${limit} ${ms}`);
      return new AppError('TOO_MANY_REQUESTS', 'too many', undefined, Math.max(1, Math.ceil(ms / 1000)));
    },
    countInMemory: async (limit: LimitName, key: string) => {
      calls.push(`memory ${limit} ${key}`);
      return overInMemory ? new AppError('TOO_MANY_REQUESTS', 'too many', undefined, 5) : undefined;
    },
    consume: async (limit: LimitName, key: string) => void calls.push(`redis ${limit} ${key}`),
  };
  return {
    limits: new ClaimLimits(config, limiters as unknown as RateLimiters),
    calls,
    overInMemory: () => (overInMemory = true),
  };
}

describe('ClaimLimit: the claim limit, counted by the claim script, settled in one call', () => {
  it("gives the script the limit's counter: the library's key, the limit and its window", () => {
    const { limits } = claimLimits();
    expect(limits.begin('42').counter).toEqual({ key: 'p:throttle:claim:42', points: 20, windowMs: 10_000 });
    expect(claimLimits({ THROTTLE_ENABLED: 'false' }).limits.begin('42').counter).toBeUndefined();
  });

  it("the script's decision within the limit is the answer", async () => {
    const { limits, calls } = claimLimits();
    const decided = { result: 0, retryInMs: 0, epoch: 'run' };
    expect(await limits.begin('42').settle(Promise.resolve(decided), isOver)).toBe(decided);
    expect(calls).toEqual([]);
  });

  it('over the limit in the script: 429 with the window left, then refused from memory until it ends, other members not', async () => {
    const { limits, calls } = claimLimits();
    await expect(
      limits.begin('42').settle(Promise.resolve({ result: THROTTLED, retryInMs: 4_200, epoch: 'run' }), isOver),
    ).rejects.toMatchObject({ code: 'TOO_MANY_REQUESTS', retryAfterSeconds: 5 });
    expect(() => limits.begin('42')).toThrow(AppError);
    expect(limits.begin('43').counter?.key).toBe('p:throttle:claim:43');
    expect(calls).toHaveLength(2);
    expect(calls[0]).toBe('429 claim 4200');
    expect(calls[1]).toMatch(/^429 claim (4[01]\d\d|4200)$/);
  });

  it('Redis unavailable: counted in memory; the failure itself within the limit, the 429 past it; nothing counted with throttling off', async () => {
    const failure = new Error('Connection is closed.');
    const within = claimLimits();
    await expect(within.limits.begin('42').settle(Promise.reject(failure), isOver)).rejects.toBe(failure);
    expect(within.calls).toEqual(['memory claim 42']);

    const over = claimLimits();
    over.overInMemory();
    await expect(over.limits.begin('42').settle(Promise.reject(failure), isOver)).rejects.toMatchObject({
      code: 'TOO_MANY_REQUESTS',
    });

    const off = claimLimits({ THROTTLE_ENABLED: 'false' });
    await expect(off.limits.begin('42').settle(Promise.reject(failure), isOver)).rejects.toBe(failure);
    expect(off.calls).toEqual([]);
  });

  it('a claim refused before the script counts through the library (Redis), on the same limit', async () => {
    const { limits, calls } = claimLimits();
    await limits.countRefused('42');
    expect(calls).toEqual(['redis claim 42']);
  });
});
