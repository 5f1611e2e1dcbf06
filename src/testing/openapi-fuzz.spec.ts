import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OpenApiChecker } from './openapi-check.js';
import { operationsOf, placesIn, requestsFor, SchemaValues } from './openapi-fuzz.js';

const document = new OpenApiChecker().document;
const values = new SchemaValues(document);
const operations = operationsOf(document);
const noIds = () => [];

/** The fuzzer's oracle is only as good as its idea of what the document accepts: these hold it to ajv. */
describe('the fuzzer’s requests (src/testing/openapi-fuzz.ts)', () => {
  it('covers every operation of the document', () => {
    expect(operations.map((operation) => operation.operationId).sort()).toEqual(
      Object.values(document.paths as Record<string, Record<string, { operationId: string }>>)
        .flatMap((item) => Object.values(item).map((operation) => operation.operationId))
        .sort(),
    );
  });

  it.each(operations.filter((operation) => operation.body?.contentType === 'application/json'))(
    'a valid body of $operationId is one the document accepts, and each field can be reached',
    (operation) => {
      fc.assert(
        fc.property(values.arbitrary(operation.body!.schema), (body) => {
          expect(values.accepts(operation.body!.schema, body)).toBe(true);
          expect(placesIn(body).length).toBeGreaterThanOrEqual(1);
        }),
        { numRuns: 200 },
      );
    },
  );

  it.each(operations)('$operationId: valid requests are accepted, changed ones say what changed', (operation) => {
    const samples = fc.sample(requestsFor(operation, values, noIds), { numRuns: 300, seed: 42 });
    for (const request of samples) {
      if (request.change === 'valid') expect(request.documentAccepts, request.url).toBe(true);
      expect(request.url.startsWith(operation.template.split('{')[0])).toBe(true);
      if (request.loneSurrogate) expect(request.body).toMatch(/\\u[dD][89a-fA-F]/);
    }
    // Both kinds are generated for every operation.
    expect(samples.some((request) => request.change === 'valid')).toBe(true);
    expect(samples.some((request) => !request.documentAccepts)).toBe(true);
  });

  it('knows a nested list, a missing field and a lone surrogate for what they are', () => {
    const schema = { $ref: '#/components/schemas/CreateProductDto' };
    const product = { name: 'a', price: 1, description: '', stock: 1, category: 'TOP', status: 'IN_STOCK' };
    expect(values.accepts(schema, product)).toBe(true);
    expect(values.accepts(schema, { ...product, images: [[]] })).toBe(false);
    expect(values.accepts(schema, { ...product, name: undefined })).toBe(false);
    expect(values.accepts(schema, { ...product, unexpected: 1 })).toBe(false);
    expect(values.accepts(schema, null)).toBe(false);
  });
});
