/**
 * The oldest Redis Pick runs on: session revocations trim their stream with XADD … MINID (Redis
 * 6.2). Ubuntu 20.04 ships Redis 5.0 and 22.04 6.0: there every refresh and every admin action that
 * ends sessions failed with "ERR Invalid stream ID" (a 500). Production installs Redis from Redis'
 * own apt repository (deploy/provision/redis-server.sh); so does `npm run up` on such a machine.
 */
export const MIN_REDIS_VERSION = '6.2.0';

/** `redis_version` from the text of INFO server, or undefined. */
export function redisVersionOf(info: string): string | undefined {
  return /^redis_version:([0-9][0-9.]*)\s*$/m.exec(info)?.[1];
}

/** Whether `version` (a.b.c) is at least `minimum`. */
export function atLeast(version: string, minimum: string = MIN_REDIS_VERSION): boolean {
  const parts = version.split('.').map(Number);
  const wanted = minimum.split('.').map(Number);
  for (let i = 0; i < wanted.length; i++) {
    const part = parts[i] ?? 0;
    if (part !== wanted[i]) return part > wanted[i];
  }
  return true;
}
