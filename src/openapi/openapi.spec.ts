import { describe, expect, it } from 'vitest';
import { ERROR_STATUS } from '../common/errors.js';
import { ContractViolation, OpenApiChecker } from '../testing/openapi-check.js';

const checker = new OpenApiChecker();
const document = checker.document;
const operations = Object.entries(document.paths as Record<string, Record<string, any>>).flatMap(([path, item]) =>
  Object.entries(item).map(([method, operation]) => ({ name: `${method.toUpperCase()} ${path}`, operation })),
);
const headers = (extra: Record<string, string> = {}) => new Headers({ 'x-request-id': 'r-1', ...extra });
const event = {
  id: '1',
  title: 'Winter sale',
  startsAt: '2026-12-01T00:00:00.000Z',
  endsAt: '2026-12-01T01:00:00.000Z',
  coupons: [
    {
      id: '2',
      name: '10% off',
      discountType: 'PERCENTAGE',
      discountValue: 10,
      minimumProductPrice: 0,
      validFrom: '2026-12-01T00:00:00.000Z',
      validUntil: '2026-12-01T01:00:00.000Z',
      maxIssuance: 100,
      remaining: 99,
    },
  ],
};

describe('the committed API document (src/openapi/openapi.json)', () => {
  it('describes every operation with a success schema, its errors, an operation id and a tag', () => {
    expect(operations.length).toBeGreaterThanOrEqual(18);
    for (const { name, operation } of operations) {
      const statuses = Object.keys(operation.responses);
      const success = statuses.filter((status) => status.startsWith('2'));
      expect(success, name).toHaveLength(1);
      if (success[0] !== '204')
        expect(operation.responses[success[0]].content?.['application/json']?.schema, name).toBeDefined();
      expect(statuses.filter((status) => Number(status) >= 400).length, name).toBeGreaterThan(0);
      expect(operation.operationId, name).toMatch(/^[a-z][A-Za-z]+$/);
      expect(operation.tags, name).toHaveLength(1);
      expect(operation.security, name).toBeDefined();
    }
    const ids = operations.map(({ operation }) => operation.operationId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('documents every code of errors.ts, each under the status the filter sends', () => {
    expect(document.components.schemas.ErrorCode.enum).toEqual(Object.keys(ERROR_STATUS));
    for (const { name, operation } of operations) {
      for (const [status, response] of Object.entries(operation.responses as Record<string, any>)) {
        if (Number(status) < 400) continue;
        const schema = response.content['application/json'].schema;
        const codes: string[] = schema.allOf?.[1].properties.code.enum ?? [];
        for (const code of codes)
          expect(ERROR_STATUS[code as keyof typeof ERROR_STATUS], `${name} ${status} ${code}`).toBe(Number(status));
      }
    }
  });
});

describe('OpenApiChecker (the e2e suites check every response with it)', () => {
  it('accepts a response the document describes', () => {
    expect(() => checker.check('GET', '/api/events/1', 200, headers(), event)).not.toThrow();
    expect(() =>
      checker.check('POST', '/api/events/1/coupons/2/issue', 202, headers(), { status: 'PENDING' }),
    ).not.toThrow();
    const soldOut = { statusCode: 409, code: 'COUPON_SOLD_OUT', message: 'sold out', requestId: 'r-1' };
    expect(() => checker.check('POST', '/api/events/1/coupons/2/issue', 409, headers(), soldOut)).not.toThrow();
  });

  it('accepts null where the document says nullable, read as OpenAPI 3.0.3 defines nullable (ajv: null added to `type` only)', () => {
    // Nest wrote `nullable` beside `allOf: [{$ref}]`: a standard 3.0 validator refused every last page.
    expect(() =>
      checker.check('GET', '/api/general/products', 200, headers(), { items: [], next: null }),
    ).not.toThrow();
    expect(() => checker.check('GET', '/api/admin/sellers', 200, headers(), { items: [], next: null })).not.toThrow();
    const customer = {
      id: '4',
      email: 'customer@email.com',
      nickname: 'minji',
      name: 'Kim Minji',
      role: 'CUSTOMER',
      sellerStatus: null,
      banned: false,
      createdAt: '2026-12-01T00:00:00.000Z',
    };
    expect(() => checker.check('GET', '/api/admin/members/4', 200, headers(), customer)).not.toThrow();
    // null and nothing else: the null alternative takes no object.
    expect(() =>
      checker.check('GET', '/api/general/products', 200, headers(), { items: [], next: { lastId: 'x' } }),
    ).toThrow(/next/);
  });

  it('fails an undocumented field, at any depth', () => {
    expect(() => checker.check('GET', '/api/events/1', 200, headers(), { ...event, secret: 1 })).toThrow(
      /additional properties: secret/,
    );
    const coupons = [{ ...event.coupons[0], issuedTo: [] }];
    expect(() => checker.check('GET', '/api/events/1', 200, headers(), { ...event, coupons })).toThrow(
      ContractViolation,
    );
  });

  it('fails a wrong type, a missing field and a value outside the enum', () => {
    expect(() => checker.check('GET', '/api/events/1', 200, headers(), { ...event, id: 1 })).toThrow(
      /\/id must be string/,
    );
    const { title: _title, ...untitled } = event;
    expect(() => checker.check('GET', '/api/events/1', 200, headers(), untitled)).toThrow(
      /must have required property 'title'/,
    );
    expect(() => checker.check('POST', '/api/events/1/coupons/2/issue', 202, headers(), { status: 'ISSUED' })).toThrow(
      /allowed values \(PENDING\)/,
    );
  });

  it('fails an undocumented status, and a code the status does not list for the operation', () => {
    expect(() =>
      checker.check('GET', '/api/events/1', 418, headers(), {
        statusCode: 418,
        code: 'TEAPOT',
        message: '',
        requestId: 'r',
      }),
    ).toThrow(/status 418 is not documented for getEvent/);
    const wrongCode = { statusCode: 409, code: 'EMAIL_TAKEN', message: 'taken', requestId: 'r-1' };
    expect(() => checker.check('POST', '/api/events/1/coupons/2/issue', 409, headers(), wrongCode)).toThrow(
      /code must be equal to one of the allowed values/,
    );
  });

  it('fails a response without x-request-id, and a body where none is documented', () => {
    expect(() => checker.check('GET', '/api/events/1', 200, new Headers(), event)).toThrow(/x-request-id/);
    expect(() => checker.check('DELETE', '/api/seller/products/3', 204, headers(), { ok: true })).toThrow(/no body/);
  });

  it('leaves what is not the API alone and holds unknown routes to the error body', () => {
    expect(() => checker.check('GET', '/metrics', 200, new Headers(), 'text')).not.toThrow();
    expect(() =>
      checker.check('GET', '/api/nope', 404, headers(), {
        statusCode: 404,
        code: 'NOT_FOUND',
        message: 'no',
        requestId: 'r',
      }),
    ).not.toThrow();
    expect(() => checker.check('GET', '/api/nope', 200, headers(), {})).toThrow(/no operation/);
  });
});
