/**
 * The one error type of msec-ts. Every failure that crosses a boundary (HTTP API,
 * RPC, CLI) is an MsecError with a stable code; the code decides the HTTP status
 * and the JSON shape `{"error":{"code","message","field"?}}`.
 *
 * Codes follow the Connect / gRPC vocabulary so that the RPC layer and the API speak
 * the same language.
 */

export const ERROR_CODES = {
  invalid_argument: 400,
  unauthenticated: 401,
  permission_denied: 403,
  not_found: 404,
  already_exists: 409,
  failed_precondition: 412,
  payload_too_large: 413,
  unsupported_media_type: 415,
  resource_exhausted: 429,
  internal: 500,
  unimplemented: 501,
  unavailable: 503,
  deadline_exceeded: 504,
  // The rest of the Connect / gRPC codes, used by RPC; first in this table wins when an
  // HTTP status is mapped back to a code.
  canceled: 499,
  aborted: 409,
  out_of_range: 400,
  data_loss: 500,
  unknown: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface ErrorBody {
  error: { code: ErrorCode; message: string; field?: string };
}

export class MsecError extends Error {
  override readonly name = "MsecError";
  readonly code: ErrorCode;
  /** The input field at fault, as a dotted path (`body.role`, `query.limit`). */
  readonly field: string | undefined;
  /** Extra HTTP headers the edge should send (e.g. Retry-After). */
  readonly headers: Record<string, string> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    opts: { field?: string; cause?: unknown; headers?: Record<string, string> } = {},
  ) {
    super(message, { cause: opts.cause });
    this.code = code;
    this.field = opts.field;
    this.headers = opts.headers;
  }

  get status(): number {
    return ERROR_CODES[this.code];
  }

  toJSON(): ErrorBody {
    const error: ErrorBody["error"] = { code: this.code, message: this.message };
    if (this.field !== undefined) error.field = this.field;
    return { error };
  }
}

/** Guard by name, not instanceof, so errors from another copy of the package still match. */
export function isMsecError(e: unknown): e is MsecError {
  return (
    typeof e === "object" &&
    e !== null &&
    (e as { name?: unknown }).name === "MsecError" &&
    typeof (e as { code?: unknown }).code === "string" &&
    (e as { code: string }).code in ERROR_CODES
  );
}

export function isErrorCode(s: unknown): s is ErrorCode {
  return typeof s === "string" && s in ERROR_CODES;
}

/** Rebuild an MsecError from an API error body (used by the CLI and clients). */
export function errorFromBody(status: number, body: unknown): MsecError {
  const err = (body as Partial<ErrorBody> | undefined)?.error;
  if (err && isErrorCode(err.code) && typeof err.message === "string") {
    return new MsecError(err.code, err.message, err.field ? { field: err.field } : {});
  }
  const code = (Object.entries(ERROR_CODES).find(([, s]) => s === status)?.[0] ??
    "internal") as ErrorCode;
  return new MsecError(code, `HTTP ${status}`);
}
