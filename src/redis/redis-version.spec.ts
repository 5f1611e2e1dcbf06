import { describe, expect, it } from 'vitest';
import { atLeast, redisVersionOf } from './redis-version.js';

describe('Redis version floor', () => {
  it('reads redis_version from INFO server', () => {
    expect(redisVersionOf('# Server\r\nredis_version:5.0.7\r\nredis_git_sha1:00000000\r\n')).toBe('5.0.7');
    expect(redisVersionOf('# Server\r\nredis_mode:standalone\r\n')).toBeUndefined();
  });

  it('refuses the Redis of Ubuntu 20.04 (5.0) and 22.04 (6.0), takes 6.2 and later', () => {
    expect(atLeast('5.0.7')).toBe(false);
    expect(atLeast('6.0.16')).toBe(false);
    expect(atLeast('6.2.0')).toBe(true);
    expect(atLeast('6.2.14')).toBe(true);
    expect(atLeast('7.0.15')).toBe(true);
    expect(atLeast('10.0.0')).toBe(true);
  });
});
