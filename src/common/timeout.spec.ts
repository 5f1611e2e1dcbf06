import { describe, expect, it } from 'vitest';
import { LATE, settleWithin, withTimeout } from './timeout.js';

const after = <T>(ms: number, value: T) => new Promise<T>((resolve) => setTimeout(() => resolve(value), ms));

describe('settleWithin and withTimeout (the one timeout helper)', () => {
  it('settleWithin: the outcome when in time, LATE when not', async () => {
    expect(await settleWithin(after(5, 'done'), 200)).toBe('done');
    expect(await settleWithin(after(200, 'done'), 5)).toBe(LATE);
    await expect(settleWithin(Promise.reject(new Error('failed')), 200)).rejects.toThrow('failed');
  });

  it('a rejection that comes after LATE is handled (no unhandled rejection)', async () => {
    const unhandled: unknown[] = [];
    const record = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', record);
    try {
      const failing = new Promise((_, reject) => setTimeout(() => reject(new Error('too late')), 20));
      expect(await settleWithin(failing, 5)).toBe(LATE);
      await after(50, undefined);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', record);
    }
  });

  it('withTimeout: the value when in time, timeoutError() when not', async () => {
    expect(await withTimeout(after(5, 7), 200, () => new Error('slow'))).toBe(7);
    await expect(withTimeout(after(200, 7), 5, () => new Error('slow'))).rejects.toThrow('slow');
  });
});
