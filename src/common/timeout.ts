/** What `settleWithin` resolves with when the promise has not settled in time. */
export const LATE: unique symbol = Symbol('late');

/**
 * `promise`'s outcome, or LATE once `ms` have passed without it (the promise goes on; a rejection it
 * makes later is handled, never unhandled). The timer is cleared as soon as the promise settles.
 * `unref`: the timer does not hold the process open (a check that must not keep a stopping process
 * alive); left ref'd, a shutdown step that waits for it still runs the steps after it.
 */
export async function settleWithin<T>(
  promise: Promise<T>,
  ms: number,
  options: { unref?: boolean } = {},
): Promise<T | typeof LATE> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<typeof LATE>((resolve) => {
    timer = setTimeout(() => resolve(LATE), ms);
    if (options.unref) timer.unref();
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `promise`, or a rejection with `timeoutError()` once `ms` have passed (the timer is cleared as soon
 * as the promise settles, and never holds the process open).
 */
export async function withTimeout<T>(promise: Promise<T>, ms: number, timeoutError: () => Error): Promise<T> {
  const outcome = await settleWithin(promise, ms, { unref: true });
  if (outcome === LATE) throw timeoutError();
  return outcome;
}
