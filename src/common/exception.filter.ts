import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { DriverException, UniqueConstraintViolationException } from '@mikro-orm/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError, ERROR_STATUS, ErrorBody, ErrorCode } from './errors.js';
import { isServiceUnavailable } from './unavailable.js';

const CODE_BY_STATUS: Record<number, ErrorCode> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  414: 'URI_TOO_LONG',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  422: 'UNPROCESSABLE',
  429: 'TOO_MANY_REQUESTS',
  503: 'SERVICE_UNAVAILABLE',
};

// Fastify's own errors (body parsing, limits) that must read as client errors.
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'BAD_REQUEST',
  FST_REQ_FILE_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_FILES_LIMIT: 'PAYLOAD_TOO_LARGE',
  FST_PARTS_LIMIT: 'PAYLOAD_TOO_LARGE',
  FST_FIELDS_LIMIT: 'PAYLOAD_TOO_LARGE',
  FST_INVALID_MULTIPART_CONTENT_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_PROTO_VIOLATION: 'INVALID_JSON',
};

/**
 * The body of an answer Node's HTTP parser makes the server give before there is any request
 * (Fastify's clientErrorHandler, src/http/client-errors.ts): headers over the size limit, a request that
 * arrives too slowly, bytes that are not HTTP.
 */
export function clientErrorBody(error: { code?: string }): ErrorBody {
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return {
        statusCode: 431,
        code: 'HEADERS_TOO_LARGE',
        message: 'The request line and headers are larger than the server accepts (16 KiB)',
      };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
    case 'HPE_HEADER_TIMEOUT':
      return { statusCode: 408, code: 'REQUEST_TIMEOUT', message: 'The request did not arrive in time' };
    default:
      return { statusCode: 400, code: 'BAD_REQUEST', message: 'The request is not valid HTTP' };
  }
}

/** Maps any error to a JSON body with a stable code and the right status. */
export function toErrorBody(error: unknown): ErrorBody {
  if (error instanceof AppError) {
    return {
      statusCode: error.status,
      code: error.code,
      message: error.message,
      ...(error.details !== undefined && { details: error.details }),
    };
  }
  if (error instanceof HttpException) {
    // Nest wraps Fastify's own client errors (body parsing, limits) in an HttpException: keep their precise code.
    const cause = error.cause as { code?: unknown } | undefined;
    if (typeof cause?.code === 'string' && FASTIFY_CODES[cause.code]) {
      const code = FASTIFY_CODES[cause.code];
      return { statusCode: ERROR_STATUS[code], code, message: error.message };
    }
    const status = error.getStatus();
    const response = error.getResponse();
    const message =
      typeof response === 'string' ? response : ((response as { message?: unknown }).message ?? error.message);
    if (status === 400 && /JSON/.test(String(message)))
      return { statusCode: 400, code: 'INVALID_JSON', message: 'The request body is not valid JSON' };
    return {
      statusCode: status,
      code: CODE_BY_STATUS[status] ?? (status >= 500 ? 'INTERNAL_ERROR' : 'BAD_REQUEST'),
      message: Array.isArray(message) ? message.join('; ') : String(message),
    };
  }
  if (error instanceof UniqueConstraintViolationException) {
    return { statusCode: 409, code: 'CONFLICT', message: 'The resource conflicts with an existing one' };
  }
  const err = error as { code?: string; statusCode?: number; message?: string; name?: string } | undefined;
  if (err?.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    // Fastify's message would echo the whole parameter back.
    return { statusCode: 414, code: 'URI_TOO_LONG', message: 'A path parameter is too long' };
  }
  if (err?.code && FASTIFY_CODES[err.code]) {
    const code = FASTIFY_CODES[err.code];
    return { statusCode: ERROR_STATUS[code], code, message: err.message ?? code };
  }
  if (err?.name === 'SyntaxError' && err.statusCode === 400) {
    return { statusCode: 400, code: 'INVALID_JSON', message: 'The request body is not valid JSON' };
  }
  if (typeof err?.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
    return {
      statusCode: err.statusCode,
      code: CODE_BY_STATUS[err.statusCode] ?? 'BAD_REQUEST',
      message: err.message ?? 'Bad request',
    };
  }
  // Any other database driver error is a 503 as well: the client may retry, nothing it sent caused it.
  if (error instanceof DriverException || isServiceUnavailable(error)) {
    return { statusCode: 503, code: 'SERVICE_UNAVAILABLE', message: 'A backing service is unavailable; retry shortly' };
  }
  return { statusCode: 500, code: 'INTERNAL_ERROR', message: 'Internal server error' };
}

/** An error's answer, whoever writes it: status, headers and the JSON body (see `errorAnswer`). */
export interface ErrorAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const JSON_TYPE = 'application/json; charset=utf-8';

/** Where an error's log line goes: the request's logger (Fastify's), or the app's with the request id. */
export interface ErrorLog {
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/**
 * The one way an error is answered, wherever it happens (Nest's filter below, the HTTP pipeline's hooks
 * in src/http, a hot route): the JSON body with its code and the request id, Retry-After where the client
 * may try again (an AppError's own, else 1 s on every 503), and a log line for a 5xx.
 */
export function errorAnswer(
  exception: unknown,
  requestId: string,
  log: ErrorLog,
  options: { log?: boolean } = {},
): ErrorAnswer {
  const body = toErrorBody(exception);
  body.requestId = requestId;
  if (options.log === false || (exception instanceof AppError && exception.code === 'AUTH_BUSY')) {
    // Refused before anything was done (the pipeline's own rules), or shed load counted by
    // pick_password_hash_refused_total: a log line each would add to it.
  } else if (exception instanceof AppError && body.statusCode >= 500) {
    // A known condition (a dependency down, not ready): no stack trace, just what it was.
    log.warn({ code: body.code, details: body.details, requestId }, body.message);
  } else if (body.statusCode >= 500) {
    log.error({ err: exception, code: body.code, requestId }, 'request failed');
  }
  const headers: Record<string, string> = { 'content-type': JSON_TYPE };
  if (exception instanceof AppError && exception.retryAfterSeconds !== undefined)
    headers['retry-after'] = String(exception.retryAfterSeconds);
  // A dependency away (MySQL, Redis refusing writes, a failover): the client may retry in a second.
  else if (body.statusCode === 503) headers['retry-after'] = '1';
  return { status: body.statusCode, headers, body: JSON.stringify(body) };
}

/** `errorAnswer` through Fastify's reply (unless something was already sent). */
export function sendError(
  request: FastifyRequest,
  reply: FastifyReply,
  exception: unknown,
  options: { log?: boolean } = {},
): void {
  const answer = errorAnswer(exception, String(request.id), request.log, options);
  if (reply.sent) return;
  void reply.status(answer.status).headers(answer.headers).send(answer.body);
}

/** Nest's side of `sendError`: every error a controller, guard or pipe throws. */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('Exceptions');

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') {
      // Transport handlers: nobody to answer, so just log.
      this.logger.error(exception instanceof Error ? exception.stack : String(exception));
      return;
    }
    const http = host.switchToHttp();
    sendError(http.getRequest<FastifyRequest>(), http.getResponse<FastifyReply>(), exception);
  }
}
