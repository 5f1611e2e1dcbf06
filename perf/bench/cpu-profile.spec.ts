import { describe, expect, it } from 'vitest';
import { componentOf, gapTable, measure, summarize } from './cpu-profile.js';

describe('CPU profile summary', () => {
  it('names the component of a frame: a package (scoped too), a folder of the app, Node, V8', () => {
    const at = (url: string, functionName = 'f') => componentOf({ url, functionName });
    expect(at('file:///app/node_modules/fastify/lib/route.js')).toBe('fastify');
    expect(at('file:///app/node_modules/@nestjs/core/router/router-proxy.js')).toBe('@nestjs/core');
    expect(at('file:///app/node_modules/.pnpm/x/node_modules/ioredis/built/Redis.js')).toBe('ioredis');
    expect(at('file:///app/dist/src/coupons/claims.service.js')).toBe('src/coupons');
    expect(at('node:internal/stream_base_commons')).toBe('node:internal');
    expect(at('', '(garbage collector)')).toBe('(garbage collector)');
    expect(at('', 'writev')).toBe('native writev');
  });

  it('sums self time over profiles, leaves idle out of busy, and ranks the components', () => {
    const profile = {
      startTime: 0,
      endTime: 4_000, // µs: 4 samples of 1 ms
      samples: [1, 2, 2, 3],
      timeDeltas: [1_000, 1_000, 1_000, 1_000],
      nodes: [
        { id: 1, callFrame: { functionName: '(idle)', url: '' } },
        { id: 2, callFrame: { functionName: 'route', url: 'file:///a/node_modules/fastify/lib/route.js' } },
        { id: 3, callFrame: { functionName: 'claim', url: 'file:///a/dist/src/coupons/claims.service.js' } },
      ],
    };
    const table = summarize([profile, profile], 'test');
    expect(table).toContain('2 worker profiles, 6 ms busy of 8 ms sampled.');
    expect(table).toMatch(/\| fastify \| 4 \| 66\.7% \|\n\| src\/coupons \| 2 \| 33\.3% \|/);
    expect(table).toContain('| src/coupons claim | 2 | 33.3% |');
  });

  it('keeps to the samples from the first to the last in a component when asked', () => {
    const node = (id: number, url: string) => ({ id, callFrame: { functionName: `f${id}`, url } });
    const profile = {
      startTime: 0,
      endTime: 6_000,
      samples: [1, 2, 3, 2, 3, 1],
      timeDeltas: [1_000, 1_000, 1_000, 1_000, 1_000, 1_000],
      nodes: [
        node(1, 'node:internal/modules/cjs/loader'),
        node(2, 'file:///a/dist/src/coupons/claims.service.js'),
        node(3, 'file:///a/node_modules/fastify/lib/route.js'),
      ],
    };
    const table = summarize([profile], 'test', 'src/coupons f2');
    expect(table).toContain('1 worker profiles, 3 ms busy of 3 ms sampled.');
    expect(table).toContain('| fastify | 1 | 33.3% |');
    expect(table).not.toContain('node:internal');
  });

  it("ranks the gap to the bare claim by component, in µs per claim, Pick's minus the bare claim's", () => {
    const node = (id: number, url: string, functionName = `f${id}`) => ({ id, callFrame: { functionName, url } });
    const nodes = [
      node(1, 'file:///a/node_modules/ioredis/built/Redis.js'),
      node(2, 'file:///a/dist/src/coupons/claims.service.js'),
      node(3, 'file:///a/node_modules/jws/lib/verify.js'),
    ];
    const profile = (samples: number[]) => ({
      startTime: 0,
      endTime: samples.length * 1_000,
      samples,
      timeDeltas: samples.map(() => 1_000),
      nodes,
    });
    // 2 claims: Pick 2 ms ioredis, 1 ms app, 1 ms jws; bare 1 ms ioredis, 1 ms jws.
    const table = gapTable(measure([profile([1, 1, 2, 3])]), measure([profile([1, 3])]), 2);
    const rows = table.split('\n').filter((line) => line.startsWith('| ') && !line.startsWith('| component'));
    expect(rows).toEqual([
      '| ioredis | 1000.0 | 500.0 | 500.0 |',
      '| src/coupons | 500.0 | 0.0 | 500.0 |',
      '| jws | 500.0 | 500.0 | 0.0 |',
      '| **busy (main thread)** | **2000.0** | **1000.0** | **1000.0** |',
    ]);
  });
});
