import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WindowBatch } from './window-batch.js';

describe('WindowBatch', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  const collector = (windowMs: number, max: number, sizeOf?: (item: number[]) => number) => {
    const sent: number[][][] = [];
    const batch = new WindowBatch<number[]>({
      windowMs,
      max,
      sizeOf,
      send: async (items) => {
        sent.push(items);
      },
    });
    return { batch, sent };
  };

  it('items arriving within the window go out together when it closes, not before', async () => {
    const { batch, sent } = collector(3, 100);
    batch.push([1]);
    await vi.advanceTimersByTimeAsync(2);
    batch.push([2]);
    expect(sent).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(sent).toEqual([[[1], [2]]]);
    // The window is opened by the first item of the next batch, not by the clock.
    batch.push([3]);
    await vi.advanceTimersByTimeAsync(2);
    expect(sent).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(sent).toEqual([[[1], [2]], [[3]]]);
  });

  it('a full batch goes out at once, and the next item opens a new window', async () => {
    const { batch, sent } = collector(1000, 3);
    for (const n of [1, 2, 3, 4]) batch.push([n]);
    await vi.advanceTimersByTimeAsync(0);
    expect(sent).toEqual([[[1], [2], [3]]]);
    expect(batch.collected).toBe(1);
    await vi.advanceTimersByTimeAsync(1000);
    expect(sent).toEqual([[[1], [2], [3]], [[4]]]);
  });

  it('counts by sizeOf: an item bigger than max goes out alone', async () => {
    const { batch, sent } = collector(1000, 4, (item) => item.length);
    batch.push([1, 2]);
    batch.push([3, 4, 5]);
    batch.push([6, 7, 8, 9, 10]);
    await vi.advanceTimersByTimeAsync(0);
    expect(sent).toEqual([
      [
        [1, 2],
        [3, 4, 5],
      ],
      [[6, 7, 8, 9, 10]],
    ]);
  });

  it('drain sends what is collected and waits for every send in flight', async () => {
    vi.useRealTimers();
    const done: number[] = [];
    const batch = new WindowBatch<number>({
      windowMs: 60_000,
      max: 2,
      send: async (items) => {
        await new Promise((resolve) => setTimeout(resolve, 20));
        done.push(...items);
      },
    });
    batch.push(1);
    batch.push(2); // full: in flight
    batch.push(3); // waiting for a window of a minute
    await batch.drain();
    expect(done.sort()).toEqual([1, 2, 3]);
    expect(batch.collected).toBe(0);
  });

  it('a send that rejects anyway is reported with its items, and the batch keeps working', async () => {
    const errors: [unknown, number[]][] = [];
    let calls = 0;
    const batch = new WindowBatch<number>({
      windowMs: 1,
      max: 10,
      send: async () => {
        if (calls++ === 0) throw new Error('boom');
      },
      onSendError: (error, items) => errors.push([error, items]),
    });
    batch.push(1);
    await vi.advanceTimersByTimeAsync(1);
    batch.push(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(errors.map(([error, items]) => [(error as Error).message, items])).toEqual([['boom', [1]]]);
    expect(calls).toBe(2);
  });

  it('at maxInFlight, items wait for a send to end and then go out together, up to max per batch', async () => {
    const sent: number[][] = [];
    const ends: (() => void)[] = [];
    const batch = new WindowBatch<number>({
      windowMs: 1,
      max: 3,
      maxInFlight: 1,
      send: (items) => {
        sent.push(items);
        return new Promise<void>((resolve) => ends.push(resolve));
      },
    });
    batch.push(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(sent).toEqual([[1]]);
    for (const n of [2, 3, 4, 5]) batch.push(n);
    // Neither the window nor a full batch sends while one is in flight.
    await vi.advanceTimersByTimeAsync(100);
    expect(sent).toEqual([[1]]);
    expect(batch.collected).toBe(4);
    ends.shift()!();
    await vi.advanceTimersByTimeAsync(0);
    expect(sent).toEqual([[1], [2, 3, 4]]);
    ends.shift()!();
    await vi.advanceTimersByTimeAsync(0);
    expect(sent).toEqual([[1], [2, 3, 4], [5]]);
    ends.shift()!();
    const drained = batch.drain();
    batch.push(6);
    await vi.advanceTimersByTimeAsync(0);
    expect(sent).toEqual([[1], [2, 3, 4], [5], [6]]);
    ends.shift()!();
    await drained;
    expect(batch.collected).toBe(0);
  });
});
