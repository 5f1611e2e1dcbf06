/**
 * Every error a client can see has a stable upper-case code; the HTTP status comes
 * from this one table (the global filter reads it). Feature modules throw AppError.
 */
export const ERROR_STATUS = {
  VALIDATION_FAILED: 400,
  INVALID_JSON: 400,
  INVALID_CURSOR: 400,
  BAD_REQUEST: 400,
  NO_FILES: 400,
  EMPTY_FILE: 400,
  UNEXPECTED_FIELD: 400,
  IMAGE_NOT_FOUND: 400,
  UNAUTHORIZED: 401,
  INVALID_CREDENTIALS: 401,
  INVALID_TOKEN: 401,
  TOKEN_EXPIRED: 401,
  REFRESH_TOKEN_REVOKED: 401,
  SESSION_ENDED: 401,
  FORBIDDEN: 403,
  EVENT_NOT_STARTED: 403,
  MEMBER_BANNED: 403,
  SELLER_NOT_APPROVED: 403,
  NOT_FOUND: 404,
  MEMBER_NOT_FOUND: 404,
  PRODUCT_NOT_FOUND: 404,
  EVENT_NOT_FOUND: 404,
  COUPON_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  /** The client took longer than the server's timeouts to send the request's headers or body. */
  REQUEST_TIMEOUT: 408,
  CONFLICT: 409,
  EMAIL_TAKEN: 409,
  NICKNAME_TAKEN: 409,
  PHONE_TAKEN: 409,
  COUPON_ALREADY_ISSUED: 409,
  COUPON_SOLD_OUT: 409,
  COUPON_MAX_BELOW_ISSUED: 409,
  MEMBER_NOT_SELLER: 409,
  CANNOT_TARGET_SELF: 409,
  EVENT_ENDED: 410,
  PAYLOAD_TOO_LARGE: 413,
  FILE_TOO_LARGE: 413,
  TOO_MANY_FILES: 413,
  URI_TOO_LONG: 414,
  UNSUPPORTED_MEDIA_TYPE: 415,
  UNSUPPORTED_IMAGE_TYPE: 415,
  UNPROCESSABLE: 422,
  /** The request line and headers are larger than Node's limit (16 KiB): a long URL or header. */
  HEADERS_TOO_LARGE: 431,
  TOO_MANY_REQUESTS: 429,
  INTERNAL_ERROR: 500,
  SERVICE_UNAVAILABLE: 503,
  STORAGE_UNAVAILABLE: 503,
  /** This worker's password hashing is at its cap (PASSWORD_HASH_*): retry after `Retry-After` seconds. */
  AUTH_BUSY: 503,
  /** Answered by nginx only (deploy/nginx/pick.conf.template): no app server could take the request. */
  BAD_GATEWAY: 502,
  /** Answered by nginx only: no app server answered within READ_TIMEOUT; the request may have been carried out. */
  GATEWAY_TIMEOUT: 504,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    /** Sent as `Retry-After` (seconds): when the client may try again. */
    readonly retryAfterSeconds?: number,
  ) {
    // A domain error is an expected answer (sold out, duplicate, …), thrown by thousands per second
    // in a coupon rush: its stack says nothing, so it is not captured.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = limit;
    this.name = 'AppError';
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }
}

/** The JSON body of every error response. */
export interface ErrorBody {
  statusCode: number;
  code: string;
  message: string;
  details?: unknown;
  requestId?: string;
}
