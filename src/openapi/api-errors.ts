import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { ERROR_STATUS, type ErrorCode } from '../common/errors.js';

/**
 * The error side of the contract, declared once per route: `@ApiErrors(...)` lists the codes the
 * route can answer; the statuses come from ERROR_STATUS (src/common/errors.ts), so a code is never
 * documented under another status than the one the filter sends. The e2e suites check every
 * response against the document (src/testing/openapi-check.ts): a code a route answers that is not
 * listed here fails the test that saw it, with a message naming the route and the code to add.
 */

/**
 * What any route can answer: a URL that is not valid percent-encoding or bytes that are not HTTP, a
 * query parameter the route does not declare, a request that arrives too slowly, a request line and
 * headers over 16 KiB, a compressed body or one of a type the route does not read, a worker
 * shutting down; and, behind nginx, a request line over 8 KiB (414) or a header line over 8 KiB (431),
 * no app server that could take the request (502) or answered in time (504).
 */
export const ANY_ROUTE = [
  'BAD_REQUEST',
  'VALIDATION_FAILED',
  'REQUEST_TIMEOUT',
  'URI_TOO_LONG',
  'HEADERS_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'SERVICE_UNAVAILABLE',
  'BAD_GATEWAY',
  'GATEWAY_TIMEOUT',
] as const satisfies readonly ErrorCode[];
/** Routes with path parameters: a malformed one, or one longer than Fastify's parameter limit. */
export const PATH_PARAMS = ['VALIDATION_FAILED', 'URI_TOO_LONG'] as const satisfies readonly ErrorCode[];
/** Routes that read a JSON body (src/common/validation.ts). */
export const JSON_BODY = [
  'VALIDATION_FAILED',
  'INVALID_JSON',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
] as const satisfies readonly ErrorCode[];
/** Routes that need an access token (AuthGuard): also refused when its session ended or the member is banned. */
export const MEMBER_ONLY = [
  'UNAUTHORIZED',
  'INVALID_TOKEN',
  'TOKEN_EXPIRED',
  'SESSION_ENDED',
  'MEMBER_BANNED',
] as const satisfies readonly ErrorCode[];
/** Routes that need an access token of some roles (@Roles). */
export const ROLES_ONLY = [...MEMBER_ONLY, 'FORBIDDEN'] as const satisfies readonly ErrorCode[];
/** Seller routes (@ApprovedSeller): a seller an admin has not approved. */
export const APPROVED_SELLER_ONLY = [...ROLES_ONLY, 'SELLER_NOT_APPROVED'] as const satisfies readonly ErrorCode[];

type CodeList = ErrorCode | readonly ErrorCode[];

/** The reference to the shared error body, narrowed to one status and its codes. */
export function errorSchema(status: number, codes: readonly ErrorCode[]) {
  return {
    allOf: [
      { $ref: '#/components/schemas/ErrorBody' },
      // No `type`/`additionalProperties` here: this part only narrows ErrorBody's fields.
      {
        properties: {
          statusCode: { type: 'integer' as const, enum: [status] },
          code: { type: 'string' as const, enum: [...codes] },
        },
      },
    ],
  };
}

/** The codes of a list, grouped by their status (sorted, without repeats). */
export function codesByStatus(codes: readonly ErrorCode[]): Map<number, ErrorCode[]> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of [...new Set(codes)].sort()) {
    const status = ERROR_STATUS[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return new Map([...byStatus].sort(([a], [b]) => a - b));
}

const RETRY_AFTER = {
  'Retry-After': {
    description: 'Seconds to wait before retrying (whole seconds, at least 1)',
    schema: { type: 'integer', minimum: 1 },
  },
};

/**
 * Documents every error status of a route with the codes it carries (plus ANY_ROUTE's). Pass codes
 * and the groups above, e.g. `@ApiErrors(ROLES_ONLY, JSON_BODY, 'PRODUCT_NOT_FOUND')`.
 */
export function ApiErrors(...lists: CodeList[]): MethodDecorator {
  const codes = [
    ...ANY_ROUTE,
    ...lists.flatMap((list): readonly ErrorCode[] => (typeof list === 'string' ? [list] : list)),
  ];
  const decorators = [...codesByStatus(codes)].map(([status, statusCodes]) =>
    ApiResponse({
      status,
      description: statusCodes.join(', '),
      schema: errorSchema(status, statusCodes),
      // Throttled, or a dependency unavailable for now: when to try again.
      ...((status === 429 || status === 503) && { headers: RETRY_AFTER }),
    }),
  );
  return applyDecorators(...decorators) as MethodDecorator;
}
