import { type ErrorCode, isMsecError, MsecError } from "../../core/errors.js";
import type { CallContext } from "./context.js";
import { runInCall } from "./context.js";
import type { Route } from "./routes.js";

/** The outcome of serving one call, in a form both protocols can write out. */
export type Served =
  | { ok: true; reply: Uint8Array }
  | { ok: false; code: ErrorCode; message: string };

/**
 * Serve one call: decode, run the handler in its call context (so calls it makes inherit
 * the deadline, trace id and color), encode. Never throws.
 */
export async function serveCall(
  route: Route,
  body: Buffer,
  binary: boolean,
  ctx: CallContext,
): Promise<Served> {
  try {
    const request = binary ? route.decodeBinary(body) : route.decodeJson(body);
    const reply = await runInCall(ctx, () => route.handler(request, ctx));
    return { ok: true, reply: binary ? route.encodeBinary(reply) : route.encodeJson(reply) };
  } catch (e) {
    if (isMsecError(e)) return { ok: false, code: e.code, message: e.message };
    return { ok: false, code: "internal", message: e instanceof Error ? e.message : String(e) };
  }
}

/** A call context whose AbortSignal is made only if a handler asks for it (most never do). */
export function makeContext(
  method: string,
  deadline: number | undefined,
  traceId: string,
  color: boolean,
  peer: string,
): CallContext & { abort(reason: MsecError): void } {
  let controller: AbortController | undefined;
  let aborted: MsecError | undefined;
  return {
    method,
    deadline,
    traceId,
    color,
    peer,
    get signal() {
      if (!controller) {
        controller = new AbortController();
        if (aborted) controller.abort(aborted);
      }
      return controller.signal;
    },
    abort(reason: MsecError) {
      aborted = reason;
      controller?.abort(reason);
    },
  };
}

export const deadlineError = (ms: number) =>
  new MsecError("deadline_exceeded", `deadline of ${ms} ms exceeded`);
