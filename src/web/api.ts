import type { ErrorCode } from "../core/errors.js";

/** A failed API call, carrying the API's `{"error":{"code","message","field"}}`. */
export class ApiError extends Error {
  override readonly name = "ApiError";
  constructor(
    readonly status: number,
    /** The API's error code, or "network" when the console did not answer. */
    readonly code: ErrorCode | "network",
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

const BASE = "api/v1";
const SAFE = new Set(["GET", "HEAD"]);

let csrfToken: string | undefined;
let onUnauthenticated: (() => void) | undefined;

/** The token every change must carry as X-CSRF-Token (from login or the session). */
export function setCsrfToken(token: string | undefined): void {
  csrfToken = token;
}

/** Called when a request fails with 401 because the session has ended. */
export function setUnauthenticatedHandler(handler: (() => void) | undefined): void {
  onUnauthenticated = handler;
}

export interface CallOptions {
  body?: unknown;
  /** Do not report a 401 as an ended session (login, the first session probe). */
  expect401?: boolean;
}

export async function api<T>(method: string, path: string, opts: CallOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (opts.body !== undefined) headers["content-type"] = "application/json";
  if (!SAFE.has(method) && csrfToken) headers["x-csrf-token"] = csrfToken;
  let res: Response;
  try {
    res = await fetch(`${BASE}${path}`, {
      method,
      headers,
      credentials: "same-origin",
      body: opts.body === undefined ? null : JSON.stringify(opts.body),
    });
  } catch (e) {
    throw new ApiError(0, "network", e instanceof Error ? e.message : String(e));
  }
  if (res.status === 204) return undefined as T;
  const data: unknown = await res.json().catch(() => undefined);
  if (res.ok) return data as T;
  const err = (data as { error?: { code?: ErrorCode; message?: string; field?: string } })?.error;
  const apiError = new ApiError(
    res.status,
    err?.code ?? "internal",
    err?.message ?? `HTTP ${res.status} ${res.statusText}`,
    err?.field,
  );
  if (res.status === 401 && !opts.expect401) onUnauthenticated?.();
  throw apiError;
}

/** The message to show for a failed call. */
export function errorText(e: unknown, networkMessage: string): string {
  if (e instanceof ApiError) return e.code === "network" ? networkMessage : e.message;
  return e instanceof Error ? e.message : String(e);
}
