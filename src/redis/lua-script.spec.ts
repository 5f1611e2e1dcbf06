import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import * as couponScripts from '../coupons/claim-scripts.js';
import { LuaScript } from './lua-script.js';

const counted = new LuaScript({
  name: 'testCounted',
  keys: ['item', 'counter?'],
  args: ['memberId', 'limit?', 'windowMs?'],
  codes: { DONE: 0, OVER: 3 },
  lua: `return DONE`,
  reply: (code: number) => code,
});

const listed = new LuaScript({
  name: 'testListed',
  keys: ['pending'],
  args: ['couponId', '...memberIds'],
  lua: `return #ARGV - memberIdsFrom + 1`,
  reply: (count: number) => count,
});

/** What a client's defineCommand was given, and what each defined command was called with. */
function fakeClient(reply: unknown) {
  const defined: { name: string; definition: { lua: string; numberOfKeys?: number } }[] = [];
  const calls: unknown[][] = [];
  const client = {
    defineCommand(name: string, definition: { lua: string; numberOfKeys?: number }) {
      defined.push({ name, definition });
      (client as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
        calls.push(args);
        return Promise.resolve(reply);
      };
    },
  };
  return { client: client as unknown as Redis, defined, calls };
}

describe('LuaScript: a script declared once, with named keys, arguments and codes', () => {
  it('the Lua text binds every key, argument and code to a local of its name, then the body', () => {
    expect(counted.lua).toBe(
      [
        '-- testCounted',
        'local item = KEYS[1]',
        'local counter = KEYS[2]',
        'local memberId = ARGV[1]',
        'local limit = ARGV[2]',
        'local windowMs = ARGV[3]',
        'local DONE = 0',
        'local OVER = 3',
        'return DONE',
        '',
      ].join('\n'),
    );
    expect(listed.lua).toContain('local couponId = ARGV[1]\nlocal memberIdsFrom = 2\n');
    const worded = new LuaScript({
      name: 'testWorded',
      keys: [],
      args: [],
      codes: { OK: 'OK' },
      lua: 'return { OK }',
      reply: (raw: string[]) => raw,
    });
    expect(worded.lua).toContain("local OK = 'OK'\n");
  });

  it('called with one object: the number of keys, the keys, the arguments, in declared order', () => {
    expect(counted.commandArgs({ memberId: 'm', item: 'i', counter: 'c', windowMs: 10, limit: 5 })).toEqual([
      2,
      'i',
      'c',
      'm',
      5,
      10,
    ]);
    // Optional ones left out are not sent at all (no placeholder key): the body sees nil.
    expect(counted.commandArgs({ memberId: 'm', item: 'i' })).toEqual([1, 'i', 'm']);
    expect(listed.commandArgs({ pending: 'p', couponId: '7', memberIds: ['a', 'b'] })).toEqual([1, 'p', '7', 'a', 'b']);
    expect(listed.commandArgs({ pending: 'p', couponId: '7', memberIds: [] })).toEqual([1, 'p', '7']);
  });

  it('refuses a call that would shift what the body reads: an optional one after one left out, a required one missing', () => {
    expect(() => counted.commandArgs({ memberId: 'm', item: 'i', windowMs: 10 })).toThrow(
      'testCounted: windowMs given after one left out',
    );
    expect(() => counted.commandArgs({ item: 'i' } as never)).toThrow('testCounted: memberId missing');
  });

  it('refuses a declaration that could be misread, when it is made (start-up)', () => {
    const declare =
      (keys: string[], args: string[], codes: Record<string, number> = {}) =>
      () =>
        new LuaScript({ name: 'bad', keys, args, codes, lua: 'return 1', reply: (raw: number) => raw });
    expect(declare(['a?', 'b'], [])).toThrow('a required name after an optional one');
    expect(declare(['a'], ['b?', 'c'])).toThrow('a required name after an optional one');
    expect(declare(['a'], ['...b', 'c'])).toThrow('only the last argument may be a ...list');
    expect(declare(['...a'], [])).toThrow('only the last argument may be a ...list');
    expect(declare(['a'], ['b?', '...c'])).toThrow('cannot be told apart');
    expect(declare(['a'], ['a'])).toThrow('"a" is declared twice');
    expect(declare(['a'], [], { a: 1 })).toThrow('"a" is declared twice');
    expect(declare(['end'], [])).toThrow('"end" cannot be a Lua local');
    expect(declare(['member-id'], [])).toThrow('"member-id" cannot be a Lua local');
    expect(declare(['KEYS'], [])).toThrow('"KEYS" cannot be a Lua local');
    expect(declare(['a'], [], { QUOTE: "it's" as unknown as number })).toThrow('cannot be written in Lua');
  });

  it('runs through defineCommand (EVALSHA, EVAL on NOSCRIPT) once per client, with the count of keys it sends, and parses the reply', async () => {
    const { client, defined, calls } = fakeClient(3);
    // Defined when the client is made, never at a first run (an auto-pipeline of that turn would lack it).
    await expect(counted.run(client, { item: 'i', memberId: 'm' })).rejects.toThrow('define(client) at start-up');
    counted.define(client);
    counted.define(client);
    expect(await counted.run(client, { item: 'i', memberId: 'm' })).toBe(3);
    expect(await counted.run(client, { item: 'i', counter: 'c', memberId: 'm', limit: 1, windowMs: 2 })).toBe(3);
    expect(defined).toEqual([{ name: 'testCounted', definition: { lua: counted.lua } }]);
    expect(calls).toEqual([
      [1, 'i', 'm'],
      [2, 'i', 'c', 'm', 1, 2],
    ]);
    expect(() => counted.queue({} as never, { item: 'i', memberId: 'm' })).toThrow(
      'define(client) before client.pipeline()',
    );
  });

  it("Pick's scripts read keys and arguments by name and return codes by name (no KEYS[n], ARGV[n] or bare code in a body)", () => {
    const scripts = Object.values(couponScripts).filter((value) => value instanceof LuaScript);
    // CouponStock defines every one of them on its client.
    expect(new Set(couponScripts.COUPON_SCRIPTS)).toEqual(new Set(scripts));
    expect(scripts.map((script) => script.name).sort()).toEqual([
      'couponClaim',
      'couponClearPending',
      'couponReconcile',
      'couponReconciled',
      'couponRemaining',
      'couponSetMax',
      'couponUnlock',
    ]);
    for (const script of scripts) {
      const body = script.lua.split('\n').filter((line) => !/^local \w+ = (KEYS|ARGV)\[\d+\]$/.test(line));
      expect(body.filter((line) => /KEYS\[|ARGV\[\d/.test(line))).toEqual([]);
      // A code is named; what is left are counts (DEL's 0 or 1, a remaining stock, 1 for done).
      expect(body.filter((line) => /return -\d|return \{-?\d/.test(line))).toEqual([]);
    }
    expect(couponScripts.couponClaim.lua).toMatch(/return \{THROTTLED, ttl, epoch\}/);
  });
});
