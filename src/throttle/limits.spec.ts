import type { ExecutionContext } from '@nestjs/common';
import type { Reflector } from '@nestjs/core';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../config/env.js';
import { testEnv } from '../testing/test-env.js';
import { LIMIT_NAMES, LIMITS, limitSettingNames, type LimitName, type LimitSpec } from './limits.js';
import type { RateLimiters } from './rate-limiters.js';
import { Throttled, ThrottleGuard } from './throttle.guard.js';

const read = (path: string) => readFileSync(new URL(path, import.meta.url), 'utf8');

const KEY_TEXT: Record<LimitSpec['key'], string> = {
  ip: 'client IP',
  member: 'member',
  email: 'email (lower-cased)',
};
const COUNTED_BY_TEXT: Record<LimitSpec['countedBy'], string> = {
  guard: '`@Throttled` on the route',
  login: 'the login (`LoginLimits`)',
  'claim script': 'the claim script (`ClaimLimits`)',
};
const window = (seconds: number) =>
  seconds % 3600 === 0
    ? seconds === 3600
      ? 'h'
      : `${seconds / 3600} h`
    : seconds % 60 === 0
      ? seconds === 60
        ? 'min'
        : `${seconds / 60} min`
      : `${seconds} s`;

/** What a limit counts, in the docs' words (a login limit's: the failed ones). */
const counted = (name: LimitName, failed = 'failed') => {
  const limit: LimitSpec = LIMITS[name];
  return limit.counts === 'failed attempts' ? `${failed} ${limit.what}` : limit.what;
};

/** src/throttle/README.md's table of limits, as the limits table makes it. */
function limitsTable(): string[] {
  return [
    '| limit | key | counts | counted by | default | settings | why an honest user never meets it |',
    '|---|---|---|---|---|---|---|',
    ...LIMIT_NAMES.map((name) => {
      const limit: LimitSpec = LIMITS[name];
      const cells = [
        `\`${name}\``,
        KEY_TEXT[limit.key],
        counted(name, '**failed**'),
        COUNTED_BY_TEXT[limit.countedBy],
        `${limit.limit} / ${window(limit.windowSeconds)}`,
        `\`${limitSettingNames(name).limit}\`, \`_WINDOW_SECONDS\``,
        limit.why,
      ];
      return `| ${cells.join(' | ')} |`;
    }),
  ];
}

/** The README's one sentence of what is limited, per key, as the limits table makes it. */
function limitsSentence(): string {
  const and = (items: string[]) =>
    items.length === 1 ? items[0] : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
  const byKey = Map.groupBy(LIMIT_NAMES, (name) => LIMITS[name].key);
  return [...byKey]
    .map(
      ([key, names]) =>
        `per ${KEY_TEXT[key].replace(' (lower-cased)', '')}: ${and(names.map((name) => counted(name)))}`,
    )
    .join('; ');
}

/** The consecutive table lines of `text` starting at `header`. */
function tableAt(text: string, header: string): string[] {
  const lines = text.split('\n');
  const start = lines.indexOf(header);
  if (start < 0) return [];
  const end = lines.findIndex((line, i) => i > start && !line.startsWith('|'));
  return lines.slice(start, end < 0 ? undefined : end);
}

describe('the limits table (src/throttle/limits.ts): one place for every fact of a limit', () => {
  it('each limit has two settings of its own, read at boot with the defaults of the table', () => {
    const settings = LIMIT_NAMES.flatMap((name) => Object.values(limitSettingNames(name)));
    expect(new Set(settings).size).toBe(settings.length);
    const config = loadConfig({});
    for (const name of LIMIT_NAMES) {
      const { limit, window: seconds } = limitSettingNames(name);
      expect([config[limit], config[seconds]]).toEqual([LIMITS[name].limit, LIMITS[name].windowSeconds]);
    }
    expect(loadConfig({ THROTTLE_CLAIM_MEMBER_LIMIT: '7' }).THROTTLE_CLAIM_MEMBER_LIMIT).toBe(7);
    // Checked as every setting is: the variable named, never a silent default.
    expect(() => loadConfig({ THROTTLE_UPLOAD_MEMBER_LIMIT: '0' })).toThrow(ConfigError);
    expect(() => loadConfig({ THROTTLE_UPLOAD_MEMBER_LIMIT: '1e3' })).toThrow(/THROTTLE_UPLOAD_MEMBER_LIMIT="1e3"/);
    expect(() => loadConfig({ THROTTLE_SIGNUP_IP_WINDOW_SECONDS: '86401' })).toThrow(
      /THROTTLE_SIGNUP_IP_WINDOW_SECONDS="86401"/,
    );
  });

  it('the guard counts each limit on the key its row names: a per-member limit is never keyed by IP', async () => {
    const consumed: [LimitName, string][] = [];
    const limiters = { consume: async (limit: LimitName, key: string) => void consumed.push([limit, key]) };
    const guardLimits = LIMIT_NAMES.filter((name) => LIMITS[name].countedBy === 'guard');
    expect(guardLimits.length).toBeGreaterThan(0);
    const request = { ip: '203.0.113.9', member: { id: '42' } };
    const context = (limit: LimitName | undefined, on = request) =>
      ({ getHandler: () => limit, switchToHttp: () => ({ getRequest: () => on }) }) as unknown as ExecutionContext;
    const reflector = { get: (_: string, handler: LimitName | undefined) => handler } as unknown as Reflector;
    const guard = new ThrottleGuard(reflector, limiters as unknown as RateLimiters);
    for (const limit of guardLimits) await guard.canActivate(context(limit));
    expect(consumed).toEqual(
      guardLimits.map((limit) => [limit, LIMITS[limit].key === 'member' ? '42' : '203.0.113.9']),
    );
    expect(await guard.canActivate(context(undefined))).toBe(true);
    // A per-member limit on a route without a member (a @Public one) says so instead of counting nothing.
    const perMember = guardLimits.find((limit) => LIMITS[limit].key === 'member')!;
    await expect(guard.canActivate(context(perMember, { ip: '203.0.113.9' } as typeof request))).rejects.toThrow(
      'counts per member',
    );
  });

  it('@Throttled takes only the limits the guard counts (a type error otherwise)', () => {
    // @ts-expect-error the claim limit is counted by the claim script
    expect(() => Throttled('claim')).not.toThrow();
    // @ts-expect-error failed logins are counted by the login
    expect(() => Throttled('loginEmail')).not.toThrow();
    // @ts-expect-error not a limit
    expect(() => Throttled('search')).not.toThrow();
  });

  it("the test env raises exactly the per-IP limits' settings (every test member comes from 127.0.0.1)", () => {
    const raised = Object.keys(testEnv({})).filter((name) => name.startsWith('THROTTLE_'));
    expect(raised.sort()).toEqual(
      LIMIT_NAMES.filter((name) => LIMITS[name].key === 'ip')
        .map((name) => limitSettingNames(name).limit)
        .sort(),
    );
  });

  it('src/throttle/README.md has the table of limits the code has', () => {
    const expected = limitsTable();
    expect(
      tableAt(read('./README.md'), expected[0]),
      `paste into src/throttle/README.md:\n${expected.join('\n')}\n`,
    ).toEqual(expected);
  });

  it('the README says what is limited, and where a limit belongs, as the code has it', () => {
    const readme = read('../../README.md');
    const paragraph = readme.slice(readme.indexOf('**Throttling.**')).split('\n\n')[0].replace(/\s+/g, ' ');
    expect(paragraph).toContain(limitsSentence());
    expect(readme.split('\n').find((line) => line.startsWith('| a rate limit |'))).toContain('src/throttle/limits.ts');
  });

  it(".env.example lists every limit's two settings with their defaults, and no other", () => {
    const example = read('../../.env.example');
    const listed = [...example.matchAll(/^(THROTTLE_\w+_(?:LIMIT|WINDOW_SECONDS))=(\d+)/gm)].map(([, name, value]) => [
      name,
      Number(value),
    ]);
    expect(listed).toEqual(
      LIMIT_NAMES.flatMap((name) => {
        const { limit, window: seconds } = limitSettingNames(name);
        return [
          [limit, LIMITS[name].limit],
          [seconds, LIMITS[name].windowSeconds],
        ];
      }),
    );
  });
});
