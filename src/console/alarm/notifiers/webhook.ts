/**
 * Webhook receiver: POST the message as JSON. With a secret, the request carries
 * `X-Msec-Signature: sha256=<hex HMAC-SHA256 of the raw body>`. Network errors, time-outs,
 * 408, 429 and 5xx answers are retried with exponential backoff (1 s, 2 s, 4 s by default);
 * other answers are final.
 *
 * ```ts
 * await webhookNotifier({ url: "https://hooks.example/msec", secret: "s3cret-key" }).send(message);
 * ```
 */
import { createHmac } from "node:crypto";
import type { AlarmMessage } from "../../../core/schemas/alarm.js";
import { VERSION } from "../../../core/version.js";
import { errorText, type Notifier, sleep } from "./notifier.js";

export const SIGNATURE_HEADER = "x-msec-signature";

export interface WebhookOptions {
  /** Tries after the first (default 3). */
  retries?: number;
  /** Wait before the first retry; doubles each time (default 1000 ms). */
  backoffMs?: number;
  /** Per request (default 5000 ms). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** The signature header's value for a body. */
export function signBody(secret: string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

export function webhookNotifier(
  cfg: { url: string; secret?: string | undefined },
  opts: WebhookOptions = {},
): Notifier {
  const retries = opts.retries ?? 3;
  const backoffMs = opts.backoffMs ?? 1000;
  const timeoutMs = opts.timeoutMs ?? 5000;
  // Hooks often carry a token in the path: errors name the host only.
  const where = `webhook ${new URL(cfg.url).host}`;
  return {
    async send(message: AlarmMessage) {
      const body = JSON.stringify(message);
      const headers: Record<string, string> = {
        "content-type": "application/json",
        "user-agent": `msec/${VERSION}`,
        "x-msec-event": "alarm",
      };
      if (cfg.secret) headers[SIGNATURE_HEADER] = signBody(cfg.secret, body);
      let last = "";
      for (let attempt = 0; attempt <= retries; attempt++) {
        if (attempt > 0) {
          try {
            await sleep(backoffMs * 2 ** (attempt - 1), opts.signal);
          } catch {
            throw new Error(`${where}: stopped before retrying (${last})`);
          }
        }
        const signal = opts.signal
          ? AbortSignal.any([opts.signal, AbortSignal.timeout(timeoutMs)])
          : AbortSignal.timeout(timeoutMs);
        try {
          const res = await fetch(cfg.url, {
            method: "POST",
            headers,
            body,
            signal,
            redirect: "manual",
          });
          // Read the answer so the connection can be reused.
          await res.arrayBuffer().catch(() => undefined);
          if (res.status >= 200 && res.status < 300) return;
          last = `answered HTTP ${res.status}`;
          const retryable = res.status >= 500 || res.status === 408 || res.status === 429;
          if (!retryable) throw new Error(`${where} ${last}`);
        } catch (e) {
          if (opts.signal?.aborted)
            throw new Error(`${where}: stopped (${last || "console shutting down"})`);
          if (e instanceof Error && e.message.startsWith(where)) throw e;
          last = errorText(e);
        }
      }
      throw new Error(`${where} failed after ${retries + 1} tries: ${last}`);
    },
  };
}
