import { AsyncLocalStorage } from "node:async_hooks";
import { randomBytes } from "node:crypto";

/** What a handler knows about the call it serves; also inherited by the calls it makes. */
export interface CallContext {
  /** `Service/Method` as called. */
  method: string;
  /** Epoch ms by which the caller wants an answer; undefined for no deadline. */
  deadline: number | undefined;
  /** One id for the whole chain of calls a request causes. */
  traceId: string;
  /** Colored requests are logged at every level by every service on their path. */
  color: boolean;
  /** The caller's address (`ip:port`). */
  peer: string;
  /** Aborted when the deadline passes or the caller goes away. */
  signal: AbortSignal;
}

const storage = new AsyncLocalStorage<CallContext>();

/** The call being served, if any: clients use it to pass deadline, trace id and color on. */
export function currentCall(): CallContext | undefined {
  return storage.getStore();
}

export function runInCall<T>(ctx: CallContext, fn: () => T): T {
  return storage.run(ctx, fn);
}

// Trace ids need to be unique, not secret: a random per-process prefix and a counter
// (crypto.randomBytes per call showed up as a quarter of a client's CPU).
const TRACE_PREFIX = randomBytes(5).toString("hex");
let traceCounter = 0;

export function newTraceId(): string {
  traceCounter = (traceCounter + 1) % 0x1000000;
  return TRACE_PREFIX + traceCounter.toString(16).padStart(6, "0");
}
