import type { AlarmMessage } from "../../../core/schemas/alarm.js";

/**
 * A way to tell people about alarms: one method. A notifier resolves once the message
 * is delivered and rejects with an Error saying why it was not; it never throws past
 * its own bounds (retries, timeouts), so a slow receiver cannot hold up evaluation.
 */
export interface Notifier {
  send(message: AlarmMessage): Promise<void>;
}

/** Sleep that an abort signal ends early (with the signal's reason). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

export function errorText(e: unknown): string {
  if (e instanceof Error) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    const more = cause?.code ?? cause?.message;
    return more ? `${e.message} (${more})` : e.message;
  }
  return String(e);
}
