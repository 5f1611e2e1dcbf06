import 'reflect-metadata';
import { describe, expect, it } from 'vitest';
import { validationPipe } from '../common/validation.js';
import { ProductListQuery } from './catalog.dto.js';
import { wellFormedListQuery, ProductListQueryPipe } from './product-list-query.pipe.js';

const pipe = new ProductListQueryPipe();
const viaValidator = (raw: Record<string, unknown>) =>
  validationPipe.transform(raw, { type: 'query', metatype: ProductListQuery });

async function outcome(run: () => Promise<unknown>): Promise<unknown> {
  try {
    return { ok: { ...((await run()) as object) } };
  } catch (error) {
    return { error: (error as { code?: string }).code, details: (error as { details?: unknown }).details };
  }
}

// Queries as Fastify parses them: strings, arrays for repeated keys.
const queries: Record<string, unknown>[] = [
  {},
  { sort: 'NEW' },
  { sort: 'HIGH_PRICE', category: 'TOP' },
  { sort: 'LOW_PRICE', category: 'SHOES', lastId: '120', lastPrice: '0' },
  { lastId: '9223372036854775807' },
  { lastPrice: '1000000000', lastId: '5', sort: 'HIGH_PRICE' },
  { lastPrice: '1000000001', lastId: '5', sort: 'HIGH_PRICE' },
  { lastPrice: '9999999999' },
  { lastPrice: '007', lastId: '7' },
  { lastPrice: '-1' },
  { lastPrice: '1.5' },
  { lastPrice: ' 12' },
  { lastPrice: '' },
  { lastId: '0' },
  { lastId: '01' },
  { lastId: '12345678901234567890' },
  { lastId: 'abc' },
  { sort: 'new' },
  { sort: '' },
  { sort: ['NEW', 'NEW'] },
  { category: 'HATS' },
  { category: ['TOP'] },
  { page: '2' },
  { sort: 'NEW', __proto__: 'x' },
  { constructor: 'x' },
];

describe('ProductListQueryPipe', () => {
  it.each(queries.map((query) => [JSON.stringify(query), query]))(
    'answers %s exactly as the class-validator rules do',
    async (_name, query) => {
      const fast = await outcome(() => pipe.transform(query as Record<string, unknown>));
      const slow = await outcome(() => viaValidator(query as Record<string, unknown>));
      expect(fast).toEqual(slow);
    },
  );

  it('takes every query the rules accept on the fast path, and no other', async () => {
    for (const query of queries) {
      const accepted = !('error' in ((await outcome(() => viaValidator(query))) as object));
      expect({ query, fast: wellFormedListQuery(query) !== undefined }).toEqual({ query, fast: accepted });
    }
  });

  it('fills the default sort', async () => {
    expect(await pipe.transform({})).toEqual({ sort: 'NEW' });
  });
});
