import { applyDecorators, ValidationError, ValidationPipe } from '@nestjs/common';
import { buildMessage, IsISO8601, Matches, ValidateBy, ValidateIf } from 'class-validator';
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

/** A row id as text (BIGINT UNSIGNED, never 0), in paths, queries and bodies. */
export const POSITIVE_ID = /^[1-9]\d{0,18}$/;

export const DECIMAL_DIGITS = /^\d{1,10}$/;

/** For @Transform on a query's integer: only plain decimal digits become numbers, anything else stays and fails validation. */
export const queryInteger = ({ value }: { value: unknown }) =>
  typeof value === 'string' && DECIMAL_DIGITS.test(value) ? Number(value) : value;

/** Bodies, params and queries: unknown fields rejected, types converted, 400 VALIDATION_FAILED with details. */
export const validationPipe = new ValidationPipe({
  whitelist: true,
  forbidNonWhitelisted: true,
  transform: true,
  stopAtFirstError: false,
  validationError: { target: false, value: false },
  exceptionFactory: (errors) => new AppError('VALIDATION_FAILED', 'The request is invalid', flatten(errors)),
});

/**
 * Text that survives a round trip through UTF-8 (MySQL, argon2): a lone UTF-16 surrogate would be
 * silently stored as U+FFFD, so it is refused instead.
 */
export const IsWellFormedText = () =>
  ValidateBy({
    name: 'isWellFormedText',
    validator: {
      validate: (value: unknown) => typeof value !== 'string' || !/\p{Cs}/u.test(value),
      defaultMessage: buildMessage((each) => `${each}$property must be well-formed Unicode text`),
    },
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
 * Text shown to people (names, titles, addresses): well-formed, and free of control characters,
 * which no form produces and which break lists, logs and CSV exports. `multiline` lets tabs and
 * line breaks through (descriptions).
 */
export const IsDisplayText = (options: { multiline?: boolean } = {}) => {
  // Control characters (\p{Cc}), less tab, LF and CR where line breaks are allowed.
  const allowed = options.multiline ? new Set(['\t', '\n', '\r']) : new Set<string>();
  const hasForbidden = (text: string) => [...text.matchAll(/\p{Cc}/gu)].some(([char]) => !allowed.has(char));
  return applyDecorators(
    IsWellFormedText(),
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

/** Fastify's own JSON parser (prototype poisoning refused) plus the depth limit, as 400 VALIDATION_FAILED. */
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
      done(null, value);
    });
  };
}
