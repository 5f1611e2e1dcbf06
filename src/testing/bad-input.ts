import { expect, it } from 'vitest';
import type { HttpClient, HttpResult } from './http.js';

export const V = 'VALIDATION_FAILED';

/**
 * One malformed request and the exact answer it must get: a row of a bad-input table. `A` is what the
 * file's beforeAll made (members, tokens, ids), handed to the functions when the row runs.
 */
export interface BadInputCase<A> {
  name: string;
  method: string;
  path: string | ((a: A) => string);
  /** JSON body (serialized); use `raw` for anything that is not a JSON value. */
  body?: unknown | ((a: A) => unknown);
  raw?: string | ((a: A) => string);
  contentType?: string;
  token?: (a: A) => string;
  headers?: (a: A) => Record<string, string>;
  status: number;
  code: string;
}

/**
 * A bad-input table's tests, registered in the calling describe: its names are distinct and it has at
 * least `atLeast` rows (a row deleted by mistake fails), one test per row (the exact status and code,
 * never a 5xx, and every error body in the same shape), then one that none was answered 5xx.
 * `context` is read when the rows run, after the file's beforeAll.
 */
export function badInputTable<A>(
  cases: BadInputCase<A>[],
  context: () => { http: HttpClient; actors: A },
  atLeast: number,
): void {
  const seen: HttpResult[] = [];

  it(`has at least ${atLeast} distinct cases`, () => {
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
    expect(cases.length).toBeGreaterThanOrEqual(atLeast);
  });

  it.each(cases)('$name → $status $code', async (c) => {
    const { http, actors: a } = context();
    const path = typeof c.path === 'function' ? c.path(a) : c.path;
    const headers: Record<string, string> = { ...c.headers?.(a) };
    if (c.token) headers.authorization = `Bearer ${c.token(a)}`;
    let raw = typeof c.raw === 'function' ? c.raw(a) : c.raw;
    if (raw === undefined && c.body !== undefined)
      raw = JSON.stringify(typeof c.body === 'function' ? (c.body as (a: A) => unknown)(a) : c.body);
    if (raw !== undefined) headers['content-type'] = c.contentType ?? 'application/json';
    const result = await http.request(c.method, path, { raw, headers });
    seen.push(result);
    expect({ status: result.status, code: result.body?.code }, JSON.stringify(result.body).slice(0, 500)).toEqual({
      status: c.status,
      code: c.code,
    });
    expect(result.body).toMatchObject({
      statusCode: c.status,
      code: c.code,
      message: expect.any(String),
      requestId: expect.any(String),
    });
    expect(result.headers.get('x-request-id')).toBe(result.body.requestId);
    if (c.code === V) expect(Array.isArray(result.body.details)).toBe(true);
    if (c.status === 429) expect(result.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
  });

  it('never answered 5xx', () => {
    expect(seen.filter((r) => r.status >= 500).map((r) => r.body)).toEqual([]);
    expect(seen.length).toBe(cases.length);
  });
}
