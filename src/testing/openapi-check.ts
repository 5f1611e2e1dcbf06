import { Ajv, type ValidateFunction } from 'ajv';
import { default as addFormatsModule } from 'ajv-formats';
import { readFileSync } from 'node:fs';

type Schema = Record<string, any>;

// ajv-formats is CommonJS: its default export arrives wrapped once more under some loaders.
const addFormats = ((addFormatsModule as any).default ?? addFormatsModule) as (ajv: Ajv) => Ajv;

const DOCUMENT = new URL('../openapi/openapi.json', import.meta.url);
// Only these answer with the API's JSON; /metrics and /docs are not part of the contract.
const CONTRACT_PATHS = /^\/(api|health)\//;

export class ContractViolation extends Error {
  override name = 'ContractViolation';
}

interface Route {
  method: string;
  template: string;
  pattern: RegExp;
  operation: Schema;
}

/**
 * The document's schemas for ajv: `#/components/schemas` as `#/definitions`, examples dropped. `nullable`
 * is left to ajv, which reads it as OpenAPI 3.0.3 defines it: it adds null to the schema's own `type` and
 * nothing else, so an `allOf` or `enum` beside it still refuses null, as any standard 3.0 validator does.
 */
function toJsonSchema(node: any): any {
  if (Array.isArray(node)) return node.map(toJsonSchema);
  if (!node || typeof node !== 'object') return node;
  const out: Schema = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === '$ref' && typeof value === 'string')
      out.$ref = value.replace('#/components/schemas/', '#/definitions/');
    else if (key !== 'example') out[key] = toJsonSchema(value);
  }
  return out;
}

/**
 * Checks HTTP responses against the committed API document (src/openapi/openapi.json): the status
 * must be documented for the operation, the body must match its schema (no extra field, the right
 * types, the error code among the status's codes), and x-request-id (and Retry-After where documented: 429, 503) must
 * be there. Each schema is compiled once, on first use.
 */
export class OpenApiChecker {
  /** Responses checked so far, and which operation/status pairs they covered. */
  validated = 0;
  readonly seen = new Set<string>();
  private readonly ajv = new Ajv({ strict: false, allErrors: true });
  private readonly definitions: Schema;
  private readonly routes: Route[];
  private readonly compiled = new Map<string, ValidateFunction>();
  private unmatched?: ValidateFunction;

  constructor(readonly document: Schema = JSON.parse(readFileSync(DOCUMENT, 'utf8'))) {
    addFormats(this.ajv);
    this.ajv.addFormat('binary', true);
    this.definitions = toJsonSchema(document.components?.schemas ?? {});
    this.routes = Object.entries(document.paths as Record<string, Schema>)
      .flatMap(([template, item]) =>
        Object.entries(item).map(([method, operation]) => ({
          method: method.toUpperCase(),
          template,
          pattern: new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}$`),
          operation,
        })),
      )
      // A literal path wins over a template that also matches it (as in Fastify's router).
      .sort((a, b) => (a.template.includes('{') ? 1 : 0) - (b.template.includes('{') ? 1 : 0));
  }

  /** Throws a ContractViolation when the response is not what the document says. */
  check(method: string, url: string, status: number, headers: Headers, body: unknown): void {
    const path = new URL(url, 'http://localhost').pathname;
    if (!CONTRACT_PATHS.test(path)) return;
    const where = `${method} ${path} → ${status}`;
    const route = this.routes.find((candidate) => candidate.method === method && candidate.pattern.test(path));
    if (!route) {
      // No such operation (an unknown path or method): only the router's own error bodies belong here.
      if (status < 400) throw new ContractViolation(`${where}: no operation in the API document answers this`);
      this.assertValid(
        (this.unmatched ??= this.ajv.compile({ $ref: '#/definitions/ErrorBody', definitions: this.definitions })),
        body,
        where,
      );
      this.count('-', status);
      return;
    }
    const { operationId } = route.operation;
    const response = route.operation.responses?.[String(status)] as Schema | undefined;
    if (!response) {
      const code = (body as { code?: unknown } | undefined)?.code;
      throw new ContractViolation(
        `${where}: status ${status} is not documented for ${operationId} (documented: ${Object.keys(route.operation.responses).join(', ')})` +
          `${typeof code === 'string' ? `; add '${code}' to the route's @ApiErrors(...)` : ''} and run \`npm run openapi\`. Body: ${JSON.stringify(body)?.slice(0, 300)}`,
      );
    }
    if (!headers.get('x-request-id')) throw new ContractViolation(`${where}: no x-request-id header`);
    // 429 and 503 document Retry-After (src/openapi/api-errors.ts): an answer without it breaks the contract.
    const documentedHeaders = (response as { headers?: Record<string, unknown> }).headers ?? {};
    if ('Retry-After' in documentedHeaders && !headers.get('retry-after'))
      throw new ContractViolation(`${where}: ${status} without Retry-After`);
    const schema = response.content?.['application/json']?.schema as Schema | undefined;
    if (!schema) {
      if (body !== undefined && body !== '')
        throw new ContractViolation(`${where}: the document says no body, got ${JSON.stringify(body).slice(0, 200)}`);
    } else {
      const key = `${operationId} ${status}`;
      let validate = this.compiled.get(key);
      if (!validate) {
        validate = this.ajv.compile({ ...toJsonSchema(schema), definitions: this.definitions });
        this.compiled.set(key, validate);
      }
      this.assertValid(validate, body, `${where} (${operationId})`);
    }
    this.count(operationId, status);
  }

  private assertValid(validate: ValidateFunction, body: unknown, where: string): void {
    if (validate(body)) return;
    const problems = (validate.errors ?? [])
      .filter((error) => error.keyword !== 'anyOf' && error.keyword !== 'oneOf')
      .map(
        (error) =>
          `${error.instancePath || '(body)'} ${error.message}${error.keyword === 'additionalProperties' ? `: ${String(error.params.additionalProperty)}` : ''}${error.keyword === 'enum' ? ` (${(error.params.allowedValues as unknown[]).join(', ')})` : ''}`,
      );
    throw new ContractViolation(
      `${where}: the body does not match the API document: ${[...new Set(problems)].join('; ')}. Body: ${JSON.stringify(body)?.slice(0, 300)}`,
    );
  }

  private count(operationId: string, status: number): void {
    this.validated += 1;
    this.seen.add(`${operationId} ${status}`);
  }
}

let shared: OpenApiChecker | undefined;

/** The run's checker: every e2e response (src/testing/http.ts and the load helpers) goes through it. */
export function openApiChecker(): OpenApiChecker {
  return (shared ??= new OpenApiChecker());
}

/** Where each test file adds its counts; global-setup.ts sums them at the end of the run. */
export function openApiCountsFile(env: NodeJS.ProcessEnv = process.env): string {
  return new URL(`../../.local/openapi-checked-${env.PICK_TEST_DB ?? 'pick_test'}.jsonl`, import.meta.url).pathname;
}
