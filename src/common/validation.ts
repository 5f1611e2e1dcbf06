import {
  applyDecorators,
  ValidationError,
  ValidationPipe,
  type ArgumentMetadata,
  type CanActivate,
  type ExecutionContext,
  type PipeTransform,
} from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants.js';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum.js';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  buildMessage,
  IsArray,
  IsISO8601,
  IsObject,
  Matches,
  ValidateBy,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from './errors.js';

function flatten(errors: ValidationError[], parent = ''): { field: string; errors: string[] }[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const own = error.constraints ? [{ field, errors: Object.values(error.constraints) }] : [];
    return [...own, ...flatten(error.children ?? [], field)];
  });
}

/**
 * Pipe for the body of an action that takes none (`POST …/approve`, `logout-all`): absent or `{}`;
 * a field is refused like an unknown field anywhere, and so is an array or a scalar (400 VALIDATION_FAILED).
 */
export const NoBody = {
  transform(value: unknown): undefined {
    const empty =
      value === undefined ||
      value === null ||
      (typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 0);
    if (!empty)
      throw new AppError('VALIDATION_FAILED', 'The request is invalid', [
        { field: '', errors: ['this request takes no body'] },
      ]);
    return undefined;
  },
};

const QUERY_ARG = `${RouteParamtypes.QUERY}:`;

// The validation pipe drops these query keys silently (Nest's stripProtoKeys) instead of refusing them.
const PROTOTYPE_QUERY_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * One rule for query parameters: a route's @Query DTO refuses the ones it does not declare
 * (forbidNonWhitelisted), and a route with no @Query at all refuses every one (400
 * VALIDATION_FAILED), instead of ignoring them (`GET /api/members/me/coupons?x=1` was a 200); a
 * prototype's key is refused everywhere (no route declares one, and the pipe would drop it unseen).
 * A global guard: the first step of Nest's pipeline that knows the handler (and so its parameters).
 */
export class UndeclaredQueryGuard implements CanActivate {
  private readonly takesQuery = new WeakMap<object, boolean>();

  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http') return true;
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    // No query string, nothing to check (a claim in a rush).
    if (!request.url.includes('?')) return true;
    const handler = context.getHandler();
    let takes = this.takesQuery.get(handler);
    if (takes === undefined) {
      const args = (Reflect.getMetadata(ROUTE_ARGS_METADATA, context.getClass(), handler.name) ?? {}) as object;
      takes = Object.keys(args).some((key) => key.startsWith(QUERY_ARG));
      this.takesQuery.set(handler, takes);
    }
    for (const key in request.query as Record<string, unknown>) {
      if (!takes)
        throw new AppError('VALIDATION_FAILED', 'The request is invalid', [
          { field: key.slice(0, 100), errors: ['this route takes no query parameters'] },
        ]);
      if (PROTOTYPE_QUERY_KEYS.has(key))
        throw new AppError('VALIDATION_FAILED', 'The request is invalid', [
          { field: key, errors: [`property ${key} should not exist`] },
        ]);
    }
    return true;
  }
}

/** A row id as text (BIGINT UNSIGNED, never 0), in paths, queries and bodies. */
export const POSITIVE_ID = /^[1-9]\d{0,18}$/;

export const DECIMAL_DIGITS = /^\d{1,10}$/;

/** For @Transform on a query's integer: only plain decimal digits become numbers, anything else stays and fails validation. */
export const queryInteger = ({ value }: { value: unknown }) =>
  typeof value === 'string' && DECIMAL_DIGITS.test(value) ? Number(value) : value;

/** What the validation pipe takes for a DTO class (its own list: built-in types are not validated as classes). */
const NOT_A_DTO: unknown[] = [String, Boolean, Number, Array, Object, Buffer, Date];

/**
 * A body declared as a DTO class is a JSON object, and nothing else: the validation pipe would
 * take `null` or a missing body for `{}` (a PATCH of nothing, answered 200). Runs before it.
 */
export const objectBody: PipeTransform = {
  transform(value: unknown, metadata: ArgumentMetadata): unknown {
    if (metadata.type !== 'body' || typeof metadata.metatype !== 'function' || NOT_A_DTO.includes(metadata.metatype))
      return value;
    if (value === null || typeof value !== 'object' || Array.isArray(value))
      throw new AppError('VALIDATION_FAILED', 'The request is invalid', [
        { field: '', errors: ['the body must be a JSON object'] },
      ]);
    return value;
  },
};

/**
 * A list of objects of one DTO class, each item validated as that class. ValidateNested alone
 * descends into an item that is itself a list (`[[]]` passes as an empty list of nothing, and
 * `[[{…}]]` validates the inner object), so every item must be an object first. Use this, never
 * ValidateNested on a list (eslint.config.js refuses its import elsewhere).
 */
export const IsListOf = (type: () => new () => object, size: { min?: number; max: number }) =>
  applyDecorators(
    IsArray(),
    ...(size.min !== undefined ? [ArrayMinSize(size.min)] : []),
    ArrayMaxSize(size.max),
    IsObject({ each: true, message: 'each item of $property must be an object' }),
    ValidateNested({ each: true }),
    Type(type),
  );

/** Bodies, params and queries: unknown fields rejected, types converted, 400 VALIDATION_FAILED with details. */
export const validationPipe = new ValidationPipe({
  whitelist: true,
  forbidNonWhitelisted: true,
  transform: true,
  stopAtFirstError: false,
  validationError: { target: false, value: false },
  exceptionFactory: (errors) => new AppError('VALIDATION_FAILED', 'The request is invalid', flatten(errors)),
});

// A date, a time (seconds optional) and an explicit offset.
const DATE_TIME_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i;
/** The same rule for the API document (case-insensitive there by listing both cases). */
export const INSTANT_PATTERN = DATE_TIME_WITH_OFFSET.source.replace('T', '[Tt]').replace('(Z|', '([Zz]|');

/**
 * An instant: an ISO-8601 date-time with its offset (`…Z`, `…+09:00`). A time without one would
 * be read in the server's time zone, so an event could open hours off where servers and admins
 * are in different zones.
 */
export const IsInstant = () =>
  applyDecorators(
    IsISO8601({ strict: true }),
    Matches(DATE_TIME_WITH_OFFSET, {
      message: '$property must be a date-time with a time zone offset, e.g. 2026-12-01T09:00:00+09:00',
    }),
  );

/**
 * Text shown to people (names, titles, addresses): free of control characters, which no form
 * produces and which break lists, logs and CSV exports. `multiline` lets tabs and line breaks
 * through (descriptions). (Lone surrogates never get this far: jsonBodyParser refuses them.)
 */
export const IsDisplayText = (options: { multiline?: boolean } = {}) => {
  // Control characters (\p{Cc}), less tab, LF and CR where line breaks are allowed.
  const allowed = options.multiline ? new Set(['\t', '\n', '\r']) : new Set<string>();
  const hasForbidden = (text: string) => [...text.matchAll(/\p{Cc}/gu)].some(([char]) => !allowed.has(char));
  return applyDecorators(
    ValidateBy({
      name: 'isDisplayText',
      validator: {
        validate: (value: unknown) => typeof value !== 'string' || !hasForbidden(value),
        defaultMessage: buildMessage(
          (each) =>
            `${each}$property must not contain control characters${options.multiline ? ' (other than tabs and line breaks)' : ''}`,
        ),
      },
    }),
  );
};

/** A PATCH field: may be left out, but an explicit null is validated (and refused) like any other value. */
export const IsOmittable = () => ValidateIf((_object: object, value: unknown) => value !== undefined);

/** Deepest JSON body accepted; deeper nesting would overflow the stack of the validators. */
export const MAX_JSON_DEPTH = 32;

/** Whether a parsed JSON value nests objects/arrays deeper than `max` (iterative: no recursion). */
export function nestsDeeperThan(value: unknown, max = MAX_JSON_DEPTH): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    if (depth > max) return true;
    for (const child of Object.values(node)) stack.push([child, depth + 1]);
  }
  return false;
}

// A string holds a lone UTF-16 surrogate only through a \uD800-\uDFFF escape: the body text itself is
// decoded from UTF-8, which cannot encode one. Only bodies with an escape (a key can be spelled with
// them too: "constr\u0075ctor"), or with a key named like a prototype's, are walked.
const WORTH_A_WALK = /\\u|"(constructor|prototype)"/;
const LONE_SURROGATE = /\p{Cs}/u;
// Fastify's parser refuses `__proto__` and `constructor.prototype` (INVALID_JSON); the validation pipe
// would then silently drop any other `constructor` or `prototype` key instead of refusing it as unknown.
const PROTOTYPE_KEYS = new Set(['constructor', 'prototype']);
const LONE_SURROGATE_ERROR = 'a lone UTF-16 surrogate (\\uD800-\\uDFFF without its pair): not well-formed Unicode text';

/**
 * What no JSON body may hold, wherever it is: a string, value or key, that is not well-formed
 * Unicode (a lone surrogate), or a `constructor`/`prototype` key. The field (`coupons.0.name`, `''`
 * for the body itself) and why, or undefined. Iterative, like nestsDeeperThan.
 */
export function refusedField(value: unknown): { field: string; error: string } | undefined {
  const stack: [unknown, string][] = [[value, '']];
  while (stack.length > 0) {
    const [node, field] = stack.pop()!;
    if (typeof node === 'string') {
      if (LONE_SURROGATE.test(node)) return { field, error: LONE_SURROGATE_ERROR };
    } else if (node !== null && typeof node === 'object') {
      for (const [key, child] of Object.entries(node)) {
        const path = field ? `${field}.${key}` : key;
        if (LONE_SURROGATE.test(key)) return { field: path, error: LONE_SURROGATE_ERROR };
        if (PROTOTYPE_KEYS.has(key)) return { field: path, error: `property ${key} should not exist` };
        stack.push([child, path]);
      }
    }
  }
  return undefined;
}

/**
 * Fastify's own JSON parser (prototype poisoning refused) plus the depth limit and refusedField, as
 * 400 VALIDATION_FAILED: a lone surrogate (`"\ud800"`) would make validators and libraries throw
 * (the email validator's encodeURI: URIError, a 500) or be stored as U+FFFD by MySQL and argon2, so
 * no field of any route sees one.
 */
export function jsonBodyParser(fastify: FastifyInstance) {
  const parse = fastify.getDefaultJsonParser('error', 'error');
  return (request: FastifyRequest, body: string, done: (error: Error | null, value?: unknown) => void) => {
    // Some clients label a DELETE without a body as JSON: nothing to parse, nothing wrong.
    if (body === '' && request.method === 'DELETE') return done(null, undefined);
    return parse(request, body, (error: Error | null, value?: unknown) => {
      if (error) return done(error);
      if (nestsDeeperThan(value))
        return done(
          new AppError('VALIDATION_FAILED', 'The request body is nested too deeply', [
            { field: '', errors: [`nested deeper than ${MAX_JSON_DEPTH} levels`] },
          ]),
        );
      const refused = WORTH_A_WALK.test(body) ? refusedField(value) : undefined;
      if (refused)
        return done(
          new AppError('VALIDATION_FAILED', 'The request is invalid', [
            { field: refused.field, errors: [refused.error] },
          ]),
        );
      done(null, value);
    });
  };
}
