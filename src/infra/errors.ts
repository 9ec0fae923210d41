/**
 * The one error catalogue. Every error an API answers with has a code here; the code fixes its type
 * and HTTP status (docs/reference/api-conventions.md). Messages are written for the caller and never carry values
 * such as card numbers or keys.
 */
export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'idempotency_error'
  | 'card_error'
  | 'rate_limit_error'
  | 'api_error';

interface CatalogueEntry {
  type: ErrorType;
  status: number;
  message: string;
}

function entry(type: ErrorType, status: number, message: string): CatalogueEntry {
  return { type, status, message };
}

export const ERRORS = {
  // 400
  parameter_invalid: entry('invalid_request_error', 400, 'A parameter is missing or invalid.'),
  body_invalid: entry('invalid_request_error', 400, 'The request body could not be parsed.'),
  body_too_large: entry('invalid_request_error', 413, 'The request body is too large.'),
  media_type_unsupported: entry('invalid_request_error', 415, 'The request body has an unsupported content type.'),
  idempotency_key_invalid: entry('invalid_request_error', 400, 'The Idempotency-Key header must be 1 to 255 printable characters.'),
  route_not_found: entry('not_found_error', 404, 'No such route.'),
  method_not_allowed: entry('invalid_request_error', 405, 'Method not allowed.'),
  // 401 / 403
  authentication_required: entry('authentication_error', 401, 'This route needs credentials: Authorization: Bearer <key or session>.'),
  credentials_invalid: entry('authentication_error', 401, 'The credentials are not valid.'),
  sign_in_failed: entry('authentication_error', 401, 'The e-mail or password is not right.'),
  session_expired: entry('authentication_error', 401, 'The session has expired; sign in again.'),
  permission_denied: entry('permission_error', 403, 'These credentials may not call this route.'),
  device_session_required: entry('permission_error', 403, 'This route needs a session bound to a registered device.'),
  // 404 (also for another owner's objects: never confirm they exist)
  resource_missing: entry('not_found_error', 404, 'No such object.'),
  // 409 / 422
  resource_conflict: entry('invalid_request_error', 409, 'The request conflicts with the current state of the object.'),
  email_taken: entry('invalid_request_error', 409, 'An account with this e-mail already exists.'),
  idempotency_in_flight: entry('idempotency_error', 409, 'A request with this Idempotency-Key is still being processed; retry later.'),
  idempotency_key_reused: entry('idempotency_error', 422, 'This Idempotency-Key was used with different parameters.'),
  busy_retry: entry('api_error', 409, 'The request conflicted with concurrent work and could not be completed; retry it.'),
  // 429
  rate_limited: entry('rate_limit_error', 429, 'Too many requests; retry after the time in Retry-After.'),
  // 424 / 500 / 503
  downstream_failed: entry('api_error', 424, 'A downstream party did not answer in time or failed.'),
  internal_error: entry('api_error', 500, 'An internal error occurred.'),
  service_unavailable: entry('api_error', 503, 'The service is not available right now.'),
} as const satisfies Record<string, CatalogueEntry>;

export type ErrorCode = keyof typeof ERRORS;

const extra = new Map<string, CatalogueEntry>();

/**
 * Parties add their own codes (card declines, provisioning outcomes) at module load, so the catalogue
 * stays one closed list that the OpenAPI document and the docs can enumerate.
 */
export function registerErrors(entries: Record<string, CatalogueEntry>): void {
  for (const [code, e] of Object.entries(entries)) {
    if (code in ERRORS || extra.has(code)) throw new Error(`error code registered twice: ${code}`);
    extra.set(code, e);
  }
}
export { entry as errorEntry };

export function lookupError(code: string): CatalogueEntry | undefined {
  return (ERRORS as Record<string, CatalogueEntry>)[code] ?? extra.get(code);
}

export function allErrors(): Record<string, CatalogueEntry> {
  return { ...ERRORS, ...Object.fromEntries(extra) };
}

export interface AppErrorOptions {
  message?: string;
  param?: string;
  declineCode?: string;
  /** Extra headers for the response, e.g. Retry-After. */
  headers?: Record<string, string>;
}

export class AppError extends Error {
  override readonly name = 'AppError';
  readonly code: string;
  readonly type: ErrorType;
  readonly status: number;
  readonly param?: string;
  readonly declineCode?: string;
  readonly headers?: Record<string, string>;

  constructor(code: ErrorCode | (string & {}), options: AppErrorOptions = {}) {
    const e = lookupError(code);
    if (!e) throw new Error(`error code not in the catalogue: ${code}`);
    super(options.message ?? e.message);
    this.code = code;
    this.type = e.type;
    this.status = e.status;
    if (options.param !== undefined) this.param = options.param;
    if (options.declineCode !== undefined) this.declineCode = options.declineCode;
    if (options.headers !== undefined) this.headers = options.headers;
  }

  toBody(requestId: string): ErrorBody {
    return {
      error: {
        type: this.type,
        code: this.code,
        message: this.message,
        ...(this.param !== undefined ? { param: this.param } : {}),
        ...(this.declineCode !== undefined ? { decline_code: this.declineCode } : {}),
        request_id: requestId,
      },
    };
  }
}

export interface ErrorBody {
  error: { type: ErrorType; code: string; message: string; param?: string; decline_code?: string; request_id: string };
}
