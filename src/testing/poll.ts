export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The one "poll until" of the tests: calls `probe` every `everyMs` until `ok(value)` holds and
 * returns that value; throws, naming `what` and the last value seen, when `timeoutMs` passes.
 */
export async function until<T>(
  what: string,
  probe: () => Promise<T> | T,
  ok: (value: T) => boolean,
  timeoutMs = 10_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let failure: unknown;
  for (;;) {
    try {
      last = await probe();
      failure = undefined;
      if (ok(last)) return last;
    } catch (error) {
      failure = error;
    }
    if (Date.now() >= deadline) break;
    await sleep(everyMs);
  }
  const seen = failure === undefined ? JSON.stringify(last)?.slice(0, 300) : `error ${String(failure)}`;
  throw new Error(`${what}: not reached within ${timeoutMs} ms; last: ${seen}`);
}
