/**
 * Settings of the k6 scripts, read from `-e NAME=value` / the environment (`__ENV`). Every script
 * documents the ones it reads in perf/k6/README.md. A bad value stops the run at init, naming it.
 */

export function text(name: string, fallback: string): string {
  const value = __ENV[name];
  return value === undefined || value === '' ? fallback : value;
}

export function optionalText(name: string): string | undefined {
  const value = __ENV[name];
  return value === undefined || value === '' ? undefined : value;
}

export function num(name: string, fallback: number): number {
  const raw = __ENV[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0)
    throw new Error(`${name}=${JSON.stringify(raw)}: expected a non-negative number`);
  return value;
}

/** Whole numbers (VUs, rates): rounded, at least `min`. */
export function int(name: string, fallback: number, min = 0): number {
  const value = Math.round(num(name, fallback));
  if (value < min) throw new Error(`${name}=${value}: must be at least ${min}`);
  return value;
}

/** A probability between 0 and 1. */
export function fraction(name: string, fallback: number): number {
  const value = num(name, fallback);
  if (value > 1) throw new Error(`${name}=${value}: expected a fraction between 0 and 1`);
  return value;
}

/** A k6 duration ("90s", "2m", "1m30s"), checked so a typo fails at init rather than mid-run. */
export function duration(name: string, fallback: string): string {
  const value = text(name, fallback);
  if (!/^(\d+(ms|s|m|h))+$/.test(value))
    throw new Error(`${name}=${JSON.stringify(value)}: expected a k6 duration like 90s or 2m`);
  return value;
}

export function seconds(durationText: string): number {
  const units: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600 };
  let total = 0;
  for (const [, amount, unit] of durationText.matchAll(/(\d+)(ms|s|m|h)/g)) total += Number(amount) * units[unit];
  return total;
}

export function oneOf<T extends string>(name: string, choices: readonly T[], fallback: T): T {
  const value = text(name, fallback);
  if (!(choices as readonly string[]).includes(value))
    throw new Error(`${name}=${JSON.stringify(value)}: expected one of ${choices.join(', ')}`);
  return value as T;
}

/** The deployment under test: Nginx in front of the servers, or one local PM2 cluster. */
export const BASE_URL = text('BASE_URL', 'http://127.0.0.1:3000').replace(/\/+$/, '');
