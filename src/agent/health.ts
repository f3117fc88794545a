import http from "node:http";
import { MsecError } from "../core/errors.js";

/** One health check: GET the URL, 2xx is healthy. Never throws. */
export function probe(
  url: string,
  timeoutMs: number,
): Promise<{ ok: true } | { ok: false; why: string }> {
  return new Promise((resolve) => {
    // No connection pool: a kept-alive socket would hold the process's drain open.
    const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      const status = res.statusCode ?? 0;
      resolve(
        status >= 200 && status < 300
          ? { ok: true }
          : { ok: false, why: `answered HTTP ${status}` },
      );
    });
    req.on("timeout", () => req.destroy(new Error(`no answer in ${timeoutMs} ms`)));
    req.on("error", (e) => resolve({ ok: false, why: e.message }));
  });
}

export interface WaitHealthyOptions {
  url: string;
  /** Give up after this long (the manifest's healthCheck.timeoutMs, default 20 s). */
  timeoutMs: number;
  intervalMs?: number;
  /** Set when the process has exited: stop waiting at once, with this reason. */
  exited: () => string | undefined;
  signal?: AbortSignal;
}

/** Check until healthy; throws `unavailable` naming the last reason when it never gets there. */
export async function waitHealthy(o: WaitHealthyOptions): Promise<void> {
  const deadline = Date.now() + o.timeoutMs;
  let last = "not checked yet";
  for (;;) {
    const gone = o.exited();
    if (gone) throw new MsecError("unavailable", gone);
    if (o.signal?.aborted) throw new MsecError("aborted", "health check cancelled");
    const left = deadline - Date.now();
    if (left <= 0) break;
    const r = await probe(o.url, Math.min(1000, Math.max(100, left)));
    if (r.ok) return;
    last = r.why;
    await new Promise((res) =>
      setTimeout(res, Math.min(o.intervalMs ?? 200, Math.max(0, deadline - Date.now()))),
    );
  }
  const gone = o.exited();
  throw new MsecError(
    "unavailable",
    gone ?? `health check ${o.url} failed for ${Math.round(o.timeoutMs / 100) / 10} s: ${last}`,
  );
}
