import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { ERROR_STATUS } from '../common/errors.js';

type Schema = Record<string, any>;

/** Where `npm run openapi` writes the document (committed; the e2e checks and the client read it). */
export const DOCUMENT_PATH = 'src/openapi/openapi.json';

const DESCRIPTION = `Catalog, first-come-first-served coupons and members of a shopping mall built for flash traffic.

Errors are always JSON (\`ErrorBody\`): a stable upper-case \`code\` (see \`ErrorCode\` for every code and its
status), a human-readable \`message\`, \`details\` for validation errors, and the \`requestId\` that is also sent
as \`x-request-id\`. Unknown fields in a body, and query parameters an operation does not list, are refused
(400 \`VALIDATION_FAILED\`), as is a string with a lone UTF-16 surrogate anywhere in a JSON body. Each operation lists
the codes it can answer per status, including what the server answers before there is a request (a request
line and headers over 16 KiB: 431 \`HEADERS_TOO_LARGE\`, too slow: 408 \`REQUEST_TIMEOUT\`, not HTTP: 400
\`BAD_REQUEST\`), in the same shape. A path or method that no operation lists answers 404 \`NOT_FOUND\`;
500 \`INTERNAL_ERROR\` would be a bug and is listed nowhere else.

Send \`Authorization: Bearer <accessToken>\` (from \`POST /api/auth/login\`) where an operation needs it; the
roles an operation needs are in its description.`;

/** The document of the app's routes: Nest's metadata plus the shared error schemas and headers. */
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Pick API')
    .setDescription(DESCRIPTION)
    .setVersion('1')
    // Relative: the same document describes every deployment (clients pass their base URL).
    .addServer('/', 'the server that serves this document')
    .addBearerAuth(
      {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'JWT',
        description: 'The access token of `POST /api/auth/login` (30 min)',
      },
      'bearer',
    )
    .addTag('auth', 'Sign up, log in, rotate and revoke tokens')
    .addTag('catalog', 'Browse products (cached in every worker)')
    .addTag('seller', 'Products and images of sellers (SELLER or ADMIN)')
    .addTag('coupons', 'Coupon events and first-come-first-served claims')
    .addTag('admin', 'Coupon events (ADMIN)')
    .addTag('ops', 'Liveness and readiness of a worker')
    .build();
  const document = SwaggerModule.createDocument(app, config, { operationIdFactory: (_controller, method) => method });
  return finishDocument(document);
}

/** The error schemas every operation refers to, generated from ERROR_STATUS. */
function errorComponents(): Record<string, Schema> {
  const codes = Object.keys(ERROR_STATUS);
  return {
    ErrorCode: {
      type: 'string',
      enum: codes,
      description: `Every code and its status: ${codes.map((code) => `${code} ${ERROR_STATUS[code as keyof typeof ERROR_STATUS]}`).join(', ')}`,
    },
    FieldError: {
      type: 'object',
      additionalProperties: false,
      required: ['field', 'errors'],
      properties: {
        field: { type: 'string', example: 'price' },
        errors: { type: 'array', items: { type: 'string' }, example: ['price must not be less than 0'] },
      },
    },
    ErrorBody: {
      type: 'object',
      additionalProperties: false,
      required: ['statusCode', 'code', 'message', 'requestId'],
      properties: {
        statusCode: { type: 'integer', minimum: 400, maximum: 599, example: 409 },
        code: { $ref: '#/components/schemas/ErrorCode' },
        message: { type: 'string', example: 'This coupon is sold out' },
        details: {
          description:
            'VALIDATION_FAILED, IMAGE_NOT_FOUND: the fields and what is wrong with them; COUPON_MAX_BELOW_ISSUED: how many are issued',
          oneOf: [
            { type: 'array', items: { $ref: '#/components/schemas/FieldError' } },
            {
              type: 'object',
              additionalProperties: false,
              required: ['issued'],
              properties: { issued: { type: 'integer', minimum: 0 } },
            },
          ],
        },
        requestId: {
          type: 'string',
          description: 'the same as the x-request-id header',
          example: '0b6f4c1e-3d5a-4f0e-9a51-2c7d8e9f0a1b',
        },
      },
    },
  };
}

/** A schema only null passes in OpenAPI 3.0 (which has no `type: 'null'`): nullable adds null to the type, the enum keeps only it. */
const NULL_ONLY = { type: 'object', nullable: true, enum: [null], description: 'null' };

/**
 * `nullable` as OpenAPI 3.0.3 defines it: it adds null to the schema's own `type` and nothing else,
 * so a reference (Nest writes `nullable` beside `allOf: [{$ref}]`) or an enum beside it still refuses
 * null, and a standard validator refused every `"next": null`. A nullable reference becomes
 * `anyOf: [reference, NULL_ONLY]`; a nullable enum lists null.
 */
function nullableAsDefined(schema: Schema): void {
  if (schema.nullable !== true) return;
  const ref = schema.$ref ?? (schema.allOf?.length === 1 ? schema.allOf[0].$ref : undefined);
  if (ref) {
    for (const key of ['$ref', 'allOf', 'type', 'nullable']) delete schema[key];
    schema.anyOf = [{ $ref: ref }, NULL_ONLY];
  } else if (Array.isArray(schema.enum) && !schema.enum.includes(null)) {
    schema.enum = [...schema.enum, null];
  }
}

/**
 * Request bodies refuse unknown fields and responses carry none: every object schema says so.
 * Nest wraps an enum reference in a lone `allOf`: the reference alone says the same.
 */
function tidySchemas(schema: Schema): void {
  if (!schema || typeof schema !== 'object') return;
  if (Array.isArray(schema)) return schema.forEach(tidySchemas);
  nullableAsDefined(schema);
  if (schema.type === 'object' && schema.properties && schema.additionalProperties === undefined && !schema.allOf) {
    schema.additionalProperties = false;
  }
  if (Object.keys(schema).length === 1 && schema.allOf?.length === 1) {
    schema.$ref = schema.allOf[0].$ref;
    delete schema.allOf;
  }
  for (const value of Object.values(schema)) if (value && typeof value === 'object') tidySchemas(value);
}

const SUCCESS: Record<string, string> = { 200: 'OK', 201: 'Created', 202: 'Accepted', 204: 'No content' };

export function finishDocument(document: OpenAPIObject): OpenAPIObject {
  const components = document.components ?? {};
  components.schemas = { ...components.schemas, ...errorComponents() };
  components.headers = {
    ...components.headers,
    RequestId: {
      description:
        'The id of this request (a well-formed incoming x-request-id is kept); also in the logs and in error bodies',
      schema: { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,128}$' },
    },
  };
  document.components = components;
  for (const path of Object.values(document.paths)) {
    for (const operation of Object.values(path) as Schema[]) {
      if (!operation?.responses) continue;
      // Every route needs a token unless it is @Public(), and every such route says @ApiBearerAuth():
      // the others are public, which the document states rather than leaves out.
      operation.security ??= [];
      for (const [status, response] of Object.entries(operation.responses) as [string, Schema][]) {
        if (!response.description) response.description = SUCCESS[status] ?? status;
        response.headers = { 'x-request-id': { $ref: '#/components/headers/RequestId' }, ...response.headers };
      }
    }
  }
  tidySchemas(components.schemas);
  tidySchemas(document.paths);
  return document;
}

/** The document as committed: stable key order is Nest's; two-space JSON with a final newline. */
export function serializeDocument(document: OpenAPIObject): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}
