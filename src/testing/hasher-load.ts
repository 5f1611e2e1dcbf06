import type { PasswordHasher } from '../members/password-hasher.js';

/**
 * Samples a PasswordHasher's load every `everyMs` until stopped: the highest number of hashes
 * running and waiting seen, which the cap tests compare with CONCURRENCY and QUEUE.
 */
export function sampleHasherLoad(
  hasher: PasswordHasher,
  everyMs: number,
): { stop: () => { maxActive: number; maxWaiting: number } } {
  const peak = { maxActive: 0, maxWaiting: 0 };
  const timer = setInterval(() => {
    peak.maxActive = Math.max(peak.maxActive, hasher.load.active);
    peak.maxWaiting = Math.max(peak.maxWaiting, hasher.load.waiting);
  }, everyMs);
  return {
    stop: () => {
      clearInterval(timer);
      return peak;
    },
  };
}
