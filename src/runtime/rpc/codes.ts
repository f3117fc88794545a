import type { ErrorCode } from "../../core/errors.js";

/** HTTP status for each code in the Connect protocol (connectrpc.com/docs/protocol). */
const CONNECT_STATUS: Partial<Record<ErrorCode, number>> = {
  canceled: 499,
  unknown: 500,
  invalid_argument: 400,
  deadline_exceeded: 504,
  not_found: 404,
  already_exists: 409,
  permission_denied: 403,
  resource_exhausted: 429,
  failed_precondition: 400,
  aborted: 409,
  out_of_range: 400,
  unimplemented: 501,
  internal: 500,
  unavailable: 503,
  data_loss: 500,
  unauthenticated: 401,
};

/** Codes that Connect clients know; ours beyond them map to the nearest. */
export function toConnectCode(code: ErrorCode): ErrorCode {
  if (code === "payload_too_large") return "resource_exhausted";
  if (code === "unsupported_media_type") return "invalid_argument";
  return code;
}

export function connectStatus(code: ErrorCode): number {
  return CONNECT_STATUS[toConnectCode(code)] ?? 500;
}

/** Failures that say the instance (not the request) is in trouble: they cost it weight. */
export function blamesInstance(code: ErrorCode | undefined): boolean {
  return (
    code === "unavailable" ||
    code === "deadline_exceeded" ||
    code === "internal" ||
    code === "unknown" ||
    code === "resource_exhausted" ||
    code === "data_loss"
  );
}
