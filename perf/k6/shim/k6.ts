// Stand-in for k6's `k6` module (see worker.ts): checks are tallied for the test to read.
const shim = (globalThis as any).__k6shim;

export function check(value: unknown, sets: Record<string, (v: any) => boolean>): boolean {
  let all = true;
  for (const [name, test] of Object.entries(sets)) {
    let ok: boolean;
    try {
      ok = Boolean(test(value));
    } catch {
      ok = false; // k6 counts a throwing check as failed
    }
    const tally = (shim.checks[name] ??= { passes: 0, fails: 0 });
    if (ok) tally.passes++;
    else tally.fails++;
    all &&= ok;
  }
  return all;
}

export function sleep(seconds: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Math.min(seconds, 5) * 1000);
}

export function group<T>(_name: string, fn: () => T): T {
  return fn();
}

export function fail(message?: string): never {
  throw new Error(message);
}
