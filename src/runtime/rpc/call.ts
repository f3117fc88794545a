import { type ErrorCode, isMsecError, MsecError } from "../../core/errors.js";
import type { CallContext } from "./context.js";
import { runInCall } from "./context.js";
import type { Route } from "./routes.js";

/** The outcome of serving one call, in a form both protocols can write out. */
export type Served =
  | { ok: true; reply: Uint8Array | string }
  | { ok: false; code: ErrorCode; message: string };

/**
 * Serve one call: decode, run the handler in its call context (so calls it makes inherit
 * the deadline, trace id and color), encode. Never throws. A handler that answers
 * synchronously is answered synchronously: no promise, no timer, no microtask hop — the
 * common case of a fast method is the cheap one.
 */
export function serveCall(
  route: Route,
  body: Buffer,
  binary: boolean,
  ctx: CallContext,
): Served | Promise<Served> {
  let reply: unknown;
  try {
    const request = binary ? route.decodeBinary(body) : route.decodeJson(body);
    reply = runInCall(ctx, () => route.handler(request, ctx));
  } catch (e) {
    return failure(e);
  }
  if (isThenable(reply)) {
    return Promise.resolve(reply).then(
      (r) => encode(route, binary, r),
      (e) => failure(e),
    );
  }
  return encode(route, binary, reply);
}

function encode(route: Route, binary: boolean, reply: unknown): Served {
  try {
    return { ok: true, reply: binary ? route.encodeBinary(reply) : route.encodeJson(reply) };
  } catch (e) {
    return failure(new MsecError("internal", `cannot encode the reply: ${(e as Error).message}`));
  }
}

function failure(e: unknown): Served {
  if (isMsecError(e)) return { ok: false, code: e.code, message: e.message };
  return { ok: false, code: "internal", message: e instanceof Error ? e.message : String(e) };
}

export function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (
    typeof v === "object" && v !== null && typeof (v as { then?: unknown }).then === "function"
  );
}

/**
 * The context of one served call. A class (not an object literal with closures) so
 * that every call shares one shape and one prototype: cheap to make, cheap to collect.
 * Its AbortSignal is made only if a handler asks for it; most never do.
 */
export class ServerCallContext implements CallContext {
  private controller: AbortController | undefined;
  private aborted: MsecError | undefined;

  constructor(
    readonly method: string,
    readonly deadline: number | undefined,
    readonly traceId: string,
    readonly color: boolean,
    readonly peer: string,
  ) {}

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.aborted);
    }
    return this.controller.signal;
  }

  abort(reason: MsecError): void {
    this.aborted = reason;
    this.controller?.abort(reason);
  }
}

export const deadlineError = (ms: number) =>
  new MsecError("deadline_exceeded", `deadline of ${ms} ms exceeded`);
