import { Ajv, type ValidateFunction } from 'ajv';
import { default as addFormatsModule } from 'ajv-formats';
import fc from 'fast-check';

/**
 * Requests for every operation of the API document, generated from its schemas with fast-check:
 * valid ones, and ones with a single hostile change (a field at any depth replaced, removed or
 * added, the body replaced or sent as another type, a path or query parameter broken). Each
 * request knows whether the document accepts it (ajv, `nullable` read as OpenAPI 3.0.3 defines it),
 * so an answer can be held to it. src/openapi/openapi.fuzz.e2e.ts sends them.
 */

type Schema = Record<string, any>;
type Path = (string | number)[];

// ajv-formats is CommonJS: its default export arrives wrapped once more under some loaders.
const addFormats = ((addFormatsModule as any).default ?? addFormatsModule) as (ajv: Ajv) => Ajv;

export const ROLES = ['anonymous', 'CUSTOMER', 'SELLER', 'ADMIN'] as const;
export type Role = (typeof ROLES)[number];

export interface FuzzRequest {
  operationId: string;
  role: Role;
  method: string;
  /** Path and query, percent-encoded as sent. */
  url: string;
  headers: Record<string, string>;
  /** The body as sent (JSON text, multipart text), or none. */
  body?: string;
  /** What was done to a valid request: 'valid', or the one change. */
  change: string;
  /** Whether the document accepts this request: when false, no 2xx may answer it. */
  documentAccepts: boolean;
  /** A JSON body holding a lone surrogate: 400 VALIDATION_FAILED, whatever else. */
  loneSurrogate: boolean;
  /** The body is bytes (one per character), not UTF-8 text: the image upload. */
  binary?: boolean;
}

export interface Operation {
  operationId: string;
  method: string;
  template: string;
  parameters: Schema[];
  /** The content type and schema of its request body, if it takes one. */
  body?: { contentType: string; schema: Schema };
}

/** Row ids the fixtures made, by path parameter (`productId` for `/products/{id}` …): valid ids that exist. */
export type IdPools = (operation: Operation, parameter: string) => string[];

export function operationsOf(document: Schema): Operation[] {
  return Object.entries(document.paths as Record<string, Schema>).flatMap(([template, item]) =>
    Object.entries(item).map(([method, operation]) => {
      const content = operation.requestBody?.content as Record<string, { schema: Schema }> | undefined;
      const [contentType, media] = Object.entries(content ?? {})[0] ?? [];
      return {
        operationId: operation.operationId as string,
        method: method.toUpperCase(),
        template,
        parameters: (operation.parameters ?? []) as Schema[],
        ...(contentType && { body: { contentType, schema: media!.schema } }),
      };
    }),
  );
}

/** Values that break something somewhere: wrong types, nesting, null, bad text, extreme numbers, huge strings. */
const HOSTILE_VALUES: [string, unknown][] = [
  ['null', null],
  ['true', true],
  ['an empty list', []],
  ['a nested list', [[]]],
  ['a list of lists of objects', [[{}]]],
  ['an empty object', {}],
  ['a list of an empty object', [{}]],
  ['a lone high surrogate', '\ud800'],
  ['a lone low surrogate inside text', 'a\udfffb'],
  ['a reversed surrogate pair', '\ude00\ud83d'],
  ['a NUL character', 'x\u0000y'],
  ['an escape sequence', '\u001b[31mred'],
  ['a line break', 'a\nb'],
  ['a right-to-left override', '\u202egnp.exe'],
  ['an empty string', ''],
  ['blanks', '   '],
  ['a number as text', '42'],
  ['a 400-digit number as text', '9'.repeat(400)],
  ['a 10,000-character string', 'x'.repeat(10_000)],
  ['a 200,000-character string', 'y'.repeat(200_000)],
  ['-1', -1],
  ['0', 0],
  ['0.5', 0.5],
  ['-2^53', -(2 ** 53)],
  ['2^53 + 2', 2 ** 53 + 2],
  ['2^63', 2 ** 63],
  ['1e308', 1e308],
  ['-1e308', -1e308],
  ['an HTML tag', '<script>alert(1)</script>'],
  ['a SQL fragment', "' OR 1=1 --"],
  ['a path traversal', '../../etc/passwd'],
  ['a date far out', '9999-12-31T23:59:59.999Z'],
  ['a date without an offset', '2026-12-01T09:00:00'],
];

const hostileValue: fc.Arbitrary<[string, unknown]> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...HOSTILE_VALUES) },
  // Any JSON, and text with any code unit (lone surrogates and control characters included).
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((value): [string, unknown] => ['some JSON', value]) },
  {
    weight: 1,
    arbitrary: fc
      .string({ unit: fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code)), maxLength: 12 })
      .map((text): [string, unknown] => ['some UTF-16 text', text]),
  },
  { weight: 1, arbitrary: fc.integer().map((n): [string, unknown] => ['an integer', n]) },
  {
    weight: 1,
    arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }).map((n): [string, unknown] => ['a double', n]),
  },
);

/** Keys that poison prototypes where objects are merged carelessly. */
const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'prototype'];

/** Path parameter values that are not ids (encoded as sent). */
const HOSTILE_PATH_VALUES = [
  '0',
  '-1',
  '1.5',
  'abc',
  '1e3',
  '9'.repeat(25),
  '18446744073709551616',
  '%ED%A0%80',
  '%F0%9F%98%80',
  '%00',
  '%0A',
  '%',
  '%zz',
  '__proto__',
  'constructor',
  '%20',
  'a'.repeat(150),
  '1;DROP',
];

/** Query values that are not what any parameter takes (encoded as sent). */
const HOSTILE_QUERY_VALUES = ['', '-1', 'abc', '1.5', '1e3', '%00', '%ED%A0%80', '%', '9'.repeat(30), 'a'.repeat(3000)];

/** The JSON value of a schema: every field, at every depth, within its bounds. */
export class SchemaValues {
  private readonly ajv = new Ajv({ strict: false, allErrors: false });
  private readonly validators = new Map<Schema, ValidateFunction>();

  constructor(private readonly document: Schema) {
    addFormats(this.ajv);
    this.ajv.addFormat('binary', true);
    this.ajv.addSchema({ definitions: toAjv(document.components?.schemas ?? {}) }, 'document');
  }

  resolve(schema: Schema): Schema {
    return schema.$ref ? this.resolve(this.document.components.schemas[schema.$ref.split('/').pop()]) : schema;
  }

  /** Whether the document accepts this value for this schema. */
  accepts(schema: Schema, value: unknown): boolean {
    let validate = this.validators.get(schema);
    if (!validate) {
      validate = this.ajv.compile(toAjv(schema));
      this.validators.set(schema, validate);
    }
    return validate(value);
  }

  arbitrary(schema: Schema): fc.Arbitrary<unknown> {
    const s = this.resolve(schema);
    if (s.anyOf || s.oneOf) return fc.oneof(...(s.anyOf ?? s.oneOf).map((option: Schema) => this.arbitrary(option)));
    if (s.allOf?.length === 1) return this.arbitrary(s.allOf[0]);
    if (s.enum) return fc.constantFrom(...(s.enum as unknown[]));
    switch (s.type) {
      case 'object': {
        const properties = Object.fromEntries(
          Object.entries((s.properties ?? {}) as Record<string, Schema>).map(([name, property]) => [
            name,
            this.arbitrary(property),
          ]),
        );
        return fc.record(properties, { requiredKeys: s.required ?? [] });
      }
      case 'array':
        return fc.array(this.arbitrary(s.items ?? {}), {
          minLength: s.minItems ?? 0,
          maxLength: Math.min(s.maxItems ?? 3, 3),
        });
      case 'integer':
        return fc.integer({ min: s.minimum ?? -1_000_000, max: s.maximum ?? 1_000_000 });
      case 'number':
        return fc.double({ min: s.minimum ?? -1e6, max: s.maximum ?? 1e6, noNaN: true });
      case 'boolean':
        return fc.boolean();
      case 'string':
        return this.text(s);
      default:
        return fc.jsonValue({ maxDepth: 2 });
    }
  }

  private text(s: Schema): fc.Arbitrary<string> {
    const min = s.minLength ?? 0;
    const max = s.maxLength ?? 1000;
    const fits = (text: string) => text.length >= min && text.length <= max;
    if (s.format === 'date-time') {
      // Around now: the events' windows are checked against the clock.
      const now = Date.now();
      return fc
        .date({ min: new Date(now - 86_400_000), max: new Date(now + 30 * 86_400_000), noInvalidDate: true })
        .map((date) => date.toISOString());
    }
    if (s.format === 'email') return fc.emailAddress().filter(fits);
    if (s.pattern) return fc.stringMatching(new RegExp(s.pattern, 'u')).filter(fits);
    return fc.string({ minLength: min, maxLength: Math.min(max, 40) });
  }
}

/** The document's schemas as ajv reads them: its references, no examples (nullable is ajv's own, OpenAPI 3.0.3). */
function toAjv(node: any): any {
  if (Array.isArray(node)) return node.map(toAjv);
  if (!node || typeof node !== 'object') return node;
  const out: Schema = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === '$ref' && typeof value === 'string')
      out.$ref = value.replace('#/components/schemas/', 'document#/definitions/');
    else if (key !== 'example') out[key] = toAjv(value);
  }
  return out;
}

/** Every place in a JSON value: the value itself, and each property and item at every depth. */
export function placesIn(value: unknown, path: Path = []): Path[] {
  const places: Path[] = [path];
  if (Array.isArray(value)) value.forEach((item, index) => places.push(...placesIn(item, [...path, index])));
  else if (value && typeof value === 'object')
    for (const [key, child] of Object.entries(value)) places.push(...placesIn(child, [...path, key]));
  return places;
}

/** A copy of `value` with `edit` applied to the container of the last key of `path` (structuredClone keeps own __proto__ keys). */
function edited(value: unknown, path: Path, edit: (parent: any, key: string | number) => void): unknown {
  const copy = { root: structuredClone(value) } as any;
  let parent = copy;
  let key: string | number = 'root';
  for (const step of path) {
    parent = parent[key];
    key = step;
  }
  edit(parent, key);
  return copy.root;
}

/** Sets an own enumerable property, also `__proto__` (an assignment would set the prototype instead). */
function setOwn(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

const where = (path: Path) => (path.length === 0 ? 'the body' : path.join('.'));

function hasLoneSurrogate(value: unknown): boolean {
  if (typeof value === 'string') return /\p{Cs}/u.test(value);
  if (!value || typeof value !== 'object') return false;
  return Object.entries(value).some(([key, child]) => /\p{Cs}/u.test(key) || hasLoneSurrogate(child));
}

interface BodyPlan {
  value?: unknown;
  text?: string;
  contentType?: string;
  headers?: Record<string, string>;
  change: string;
  documentAccepts: boolean;
  loneSurrogate?: boolean;
  binary?: boolean;
}

/** One small image of each type the upload takes (magic bytes and a little more). */
const IMAGES: Record<string, string> = {
  'image/png': '\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89',
  'image/jpeg': '\xff\xd8\xff\xe0\0\x10JFIF\0\x01\x01\0\0\x01\0\x01\0\0\xff\xd9',
  'image/gif':
    'GIF89a\x01\0\x01\0\x80\0\0\0\0\0\xff\xff\xff!\xf9\x04\x01\0\0\0\0,\0\0\0\0\x01\0\x01\0\0\x02\x02D\x01\0;',
};

function multipart(
  parts: { name: string; filename?: string; type?: string; data: string }[],
  boundary = 'fuzz',
): string {
  return (
    parts
      .map(
        (part) =>
          `--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"${part.filename !== undefined ? `; filename="${part.filename}"` : ''}\r\n` +
          `${part.type ? `Content-Type: ${part.type}\r\n` : ''}\r\n${part.data}\r\n`,
      )
      .join('') + `--${boundary}--\r\n`
  );
}

/**
 * Requests for one operation: valid ones from its schemas, and each with one hostile change. Ids in
 * paths come from the fixtures' pools mostly (so the request reaches the row), else from the schema.
 */
export function requestsFor(operation: Operation, values: SchemaValues, ids: IdPools): fc.Arbitrary<FuzzRequest> {
  const pathParameters = operation.parameters.filter((parameter) => parameter.in === 'path');
  const queryParameters = operation.parameters.filter((parameter) => parameter.in === 'query');
  const headerParameters = operation.parameters.filter((parameter) => parameter.in === 'header');

  const validPath = fc.record(
    Object.fromEntries(
      pathParameters.map((parameter) => {
        const pool = ids(operation, parameter.name);
        const fromSchema = values.arbitrary(parameter.schema) as fc.Arbitrary<string>;
        return [
          parameter.name,
          pool.length > 0
            ? fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...pool) }, { weight: 1, arbitrary: fromSchema })
            : fromSchema,
        ];
      }),
    ),
  ) as fc.Arbitrary<Record<string, string>>;
  const validQuery = fc
    .tuple(...queryParameters.map((parameter) => fc.option(values.arbitrary(parameter.schema), { nil: undefined })))
    .map((chosen) =>
      chosen.flatMap((value, index): [string, string][] =>
        value === undefined ? [] : [[queryParameters[index].name, encodeURIComponent(String(value))]],
      ),
    );
  const headers = fc
    .tuple(
      ...headerParameters.map((parameter) =>
        fc.option(fc.stringMatching(/^[ -~]{0,40}$/), { nil: undefined }).map((value) => [parameter.name, value]),
      ),
    )
    .map((pairs) => Object.fromEntries(pairs.filter(([, value]) => value !== undefined)) as Record<string, string>);

  const body = bodyPlans(operation, values);
  // One change at most per request, so an answer says what it answers.
  const change = fc.oneof(
    { weight: 3, arbitrary: fc.constant<Change>({ kind: 'valid' }) },
    { weight: body ? 6 : 0, arbitrary: fc.constant<Change>({ kind: 'body' }) },
    { weight: pathParameters.length > 0 ? 2 : 0, arbitrary: pathChange(pathParameters) },
    { weight: 2, arbitrary: queryChange(queryParameters) },
    // A body no operation without one reads; multipart to any but the upload is 415.
    { weight: body ? 0 : operation.method === 'GET' ? 0 : 1, arbitrary: strayBody() },
  );

  return fc
    .record({
      role: fc.constantFrom(...ROLES),
      path: validPath,
      query: validQuery,
      headers,
      change,
      body: body ?? fc.constant(undefined),
    })
    .map(({ role, path, query, headers, change, body }) => {
      let documentAccepts = true;
      let described = 'valid';
      const pathValues: Record<string, string> = Object.fromEntries(
        Object.entries(path).map(([name, value]) => [name, encodeURIComponent(value)]),
      );
      const pairs = [...query];
      if (change.kind === 'path') {
        pathValues[change.name] = change.value;
        described = `path parameter ${change.name} = ${change.value.slice(0, 40)}`;
        documentAccepts = false;
      } else if (change.kind === 'query') {
        if (change.replace !== undefined) {
          const index = pairs.findIndex(([name]) => name === change.replace);
          if (index >= 0) pairs.splice(index, 1);
        }
        pairs.push([change.name, change.value]);
        if (change.twice) pairs.push([change.name, change.value]);
        described = `query ${change.name}=${change.value.slice(0, 40)}${change.twice ? ' twice' : ''}`;
        documentAccepts = false;
      }
      // The valid body rides along with a path or query change.
      const plan = body
        ? change.kind === 'body'
          ? body.changed
          : body.valid
        : change.kind === 'stray'
          ? change.plan
          : undefined;
      if (plan) {
        if (change.kind === 'body' || change.kind === 'stray') described = plan.change;
        documentAccepts &&= plan.documentAccepts;
      }
      const url =
        operation.template.replace(/\{([^}]+)\}/g, (_, name: string) => pathValues[name]) +
        (pairs.length > 0 ? `?${pairs.map(([name, value]) => `${name}=${value}`).join('&')}` : '');
      const requestHeaders: Record<string, string> = { ...headers, ...plan?.headers };
      let text: string | undefined;
      if (plan) {
        text = plan.text ?? (plan.value === undefined ? undefined : JSON.stringify(plan.value));
        if (text !== undefined && plan.contentType) requestHeaders['content-type'] = plan.contentType;
      }
      return {
        operationId: operation.operationId,
        role,
        method: operation.method,
        url,
        headers: requestHeaders,
        ...(text !== undefined && { body: text }),
        change: described,
        documentAccepts,
        loneSurrogate: plan?.loneSurrogate ?? false,
        ...(plan?.binary && { binary: true }),
      };
    });
}

type Change =
  | { kind: 'valid' }
  | { kind: 'body' }
  | { kind: 'path'; name: string; value: string }
  | { kind: 'query'; name: string; value: string; replace?: string; twice?: boolean }
  | { kind: 'stray'; plan: BodyPlan };

function pathChange(parameters: Schema[]): fc.Arbitrary<Change> {
  if (parameters.length === 0) return fc.constant({ kind: 'valid' });
  return fc
    .record({
      name: fc.constantFrom(...parameters.map((parameter) => parameter.name as string)),
      value: fc.constantFrom(...HOSTILE_PATH_VALUES),
    })
    .map(({ name, value }) => ({ kind: 'path' as const, name, value }));
}

function queryChange(parameters: Schema[]): fc.Arbitrary<Change> {
  const unknown = fc
    .record({
      name: fc.constantFrom('x', 'page', 'limit', '__proto__', 'constructor', 'a[b]', '%00', 'lastId%00'),
      value: fc.constantFrom('1', ...HOSTILE_QUERY_VALUES),
    })
    .map(({ name, value }) => ({ kind: 'query' as const, name, value }));
  if (parameters.length === 0) return unknown;
  const names = parameters.map((parameter) => parameter.name as string);
  const broken = fc
    .record({ name: fc.constantFrom(...names), value: fc.constantFrom(...HOSTILE_QUERY_VALUES) })
    .map(({ name, value }) => ({ kind: 'query' as const, name, value, replace: name }));
  // The same parameter twice: a list where a value is expected.
  const repeated = fc
    .constantFrom(...names)
    .map((name) => ({ kind: 'query' as const, name, value: '1', replace: name, twice: true }));
  return fc.oneof(unknown, broken, repeated);
}

function strayBody(): fc.Arbitrary<Change> {
  return fc
    .constantFrom<BodyPlan>(
      { value: {}, contentType: 'application/json', change: 'an empty JSON object', documentAccepts: true },
      {
        value: { x: 1 },
        contentType: 'application/json',
        change: 'a JSON body it does not take',
        documentAccepts: true,
      },
      {
        value: '\ud800',
        contentType: 'application/json',
        change: 'a lone surrogate as the body',
        documentAccepts: true,
        loneSurrogate: true,
      },
      {
        text: '--x--\r\n',
        contentType: 'multipart/form-data; boundary=x',
        change: 'a multipart body',
        documentAccepts: false,
      },
      { text: 'hello', contentType: 'text/plain', change: 'a text/plain body', documentAccepts: false },
    )
    .map((plan) => ({ kind: 'stray' as const, plan }));
}

/** A valid body of the operation, and the same with one hostile change. */
function bodyPlans(
  operation: Operation,
  values: SchemaValues,
): fc.Arbitrary<{ valid: BodyPlan; changed: BodyPlan }> | undefined {
  if (!operation.body) return undefined;
  const { contentType, schema } = operation.body;
  if (contentType === 'multipart/form-data') return uploadPlans();
  return values.arbitrary(schema).chain((valid) => {
    const validPlan: BodyPlan = { value: valid, contentType, change: 'valid', documentAccepts: true };
    const places = placesIn(valid);
    const objects = places.filter((path) => {
      const node = path.reduce((node: any, step) => node[step], valid);
      return node !== null && typeof node === 'object' && !Array.isArray(node);
    });
    const keyed = places.filter((path) => typeof path.at(-1) === 'string');
    const judged = (value: unknown, change: string): BodyPlan => ({
      value,
      contentType,
      change,
      documentAccepts: values.accepts(schema, value),
      loneSurrogate: hasLoneSurrogate(value),
    });
    const replaced = fc.tuple(fc.constantFrom(...places), hostileValue).map(([path, [name, hostile]]) =>
      judged(
        edited(valid, path, (parent, key) => (parent[key] = hostile)),
        `${where(path)} = ${name}`,
      ),
    );
    const wrapped = fc.constantFrom(...places).map((path) =>
      judged(
        edited(valid, path, (parent, key) => (parent[key] = [parent[key]])),
        `${where(path)} nested in a list`,
      ),
    );
    const removed =
      keyed.length > 0
        ? fc.constantFrom(...keyed).map((path) =>
            judged(
              edited(valid, path, (parent, key) => delete parent[key]),
              `${where(path)} missing`,
            ),
          )
        : replaced;
    const added =
      objects.length > 0
        ? fc
            .tuple(fc.constantFrom(...objects), fc.constantFrom('unexpected', ...PROTOTYPE_KEYS), hostileValue)
            .map(([path, key, [name, hostile]]) => {
              const plan = judged(
                edited(valid, path, (parent, at) => setOwn(parent[at], key, hostile)),
                `${where([...path, key])} added (${name})`,
              );
              // The parser refuses __proto__ itself (INVALID_JSON) before it looks at the strings.
              return key === '__proto__' ? { ...plan, loneSurrogate: false } : plan;
            })
        : replaced;
    const json = JSON.stringify(valid);
    const raw = fc.constantFrom<BodyPlan>(
      {
        text: json.slice(0, Math.floor(json.length / 2)),
        contentType,
        change: 'truncated JSON',
        documentAccepts: false,
      },
      { text: '', contentType, change: 'an empty body', documentAccepts: false },
      {
        text: `{"a": ${'['.repeat(40)}${']'.repeat(40)}}`,
        contentType,
        change: 'nested 41 deep',
        documentAccepts: false,
      },
      { text: json, contentType: 'text/plain', change: 'JSON as text/plain', documentAccepts: false },
      {
        text: json,
        contentType: 'multipart/form-data; boundary=x',
        change: 'JSON as multipart/form-data',
        documentAccepts: false,
      },
      {
        text: json,
        contentType: 'application/x-www-form-urlencoded',
        change: 'JSON as a form',
        documentAccepts: false,
      },
      { text: `<a>${json}</a>`, contentType: 'application/xml', change: 'XML', documentAccepts: false },
      {
        text: json,
        contentType: 'application/json',
        headers: { 'content-encoding': 'gzip' },
        change: 'said to be gzip',
        documentAccepts: false,
      },
      { change: 'no body', documentAccepts: false },
    );
    const changed = fc.oneof(
      { weight: 8, arbitrary: replaced },
      { weight: 2, arbitrary: wrapped },
      { weight: 2, arbitrary: removed },
      { weight: 2, arbitrary: added },
      { weight: 2, arbitrary: raw },
    );
    return changed.map((plan) => ({ valid: validPlan, changed: plan }));
  });
}

/** The image upload: a few small images in `files`, or a multipart body broken one way. */
function uploadPlans(): fc.Arbitrary<{ valid: BodyPlan; changed: BodyPlan }> {
  const contentType = 'multipart/form-data; boundary=fuzz';
  const file = fc.constantFrom(...Object.entries(IMAGES)).map(([type, data]) => ({
    name: 'files',
    filename: `a.${type.split('/')[1]}`,
    type,
    data,
  }));
  return fc.array(file, { minLength: 1, maxLength: 3 }).chain((files) => {
    const valid: BodyPlan = {
      text: multipart(files),
      contentType,
      change: 'valid',
      documentAccepts: true,
      binary: true,
    };
    const changed = fc.constantFrom<BodyPlan>(
      {
        text: multipart([{ ...files[0], name: 'other' }]),
        contentType,
        change: 'a file in another field',
        documentAccepts: false,
      },
      {
        text: multipart([{ name: 'files', data: 'text' }]),
        contentType,
        change: 'a text field',
        documentAccepts: false,
      },
      { text: multipart([{ ...files[0], data: '' }]), contentType, change: 'an empty file', documentAccepts: true },
      {
        text: multipart([{ ...files[0], data: 'not an image' }]),
        contentType,
        change: 'not an image',
        documentAccepts: true,
      },
      {
        text: multipart([{ ...files[0], filename: '\u0000../x.png' }]),
        contentType,
        change: 'a hostile file name',
        documentAccepts: true,
      },
      { text: '--fuzz--\r\n', contentType, change: 'no parts', documentAccepts: false },
      { text: multipart(files).slice(0, 40), contentType, change: 'cut short', documentAccepts: false },
      { text: multipart(files), contentType: 'multipart/form-data', change: 'no boundary', documentAccepts: false },
      { text: '{"files": []}', contentType: 'application/json', change: 'JSON', documentAccepts: false },
    );
    return changed.map((plan) => ({ valid, changed: { ...plan, binary: true } }));
  });
}

/** The request as a curl command line (what a failure prints, to replay it by hand). */
export function asCurl(request: FuzzRequest, baseUrl = 'http://127.0.0.1:3000'): string {
  const quote = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;
  const parts = [`curl -X ${request.method}`, quote(baseUrl + request.url)];
  for (const [name, value] of Object.entries(request.headers)) parts.push(`-H ${quote(`${name}: ${value}`)}`);
  if (request.role !== 'anonymous') parts.push(`-H 'authorization: Bearer <${request.role} token>'`);
  if (request.body !== undefined)
    parts.push(`--data-binary ${quote(request.body.length > 600 ? `${request.body.slice(0, 600)}…` : request.body)}`);
  return parts.join(' ');
}
