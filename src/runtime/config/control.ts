import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ErrorCode } from "../../core/errors.js";
import type { ConfigStore } from "./store.js";

export const CONFIG_CONTROL_PATH = "/_msec/config";

/**
 * `POST /_msec/config` from the agent, after it switched the `config` link. Guarded by
 * the per-process key the agent put in MSEC_CONTROL_KEY (no key: the route does not
 * exist). Answers `{"reloaded": true, "changed": [...]}` when listeners took the change,
 * else `{"reloaded": false, ...}` and the agent restarts the process instead.
 */
export function handleConfigControl(
  store: ConfigStore,
  req: IncomingMessage,
  res: ServerResponse,
  key: string | undefined = process.env.MSEC_CONTROL_KEY,
): void {
  // The body is not used; read it so the connection stays usable.
  req.resume();
  if (!key) {
    reply(res, 404, error("not_found", `no route ${CONFIG_CONTROL_PATH}`));
    return;
  }
  if (req.method !== "POST") {
    reply(res, 405, error("unimplemented", `use POST ${CONFIG_CONTROL_PATH}`));
    return;
  }
  const given = req.headers["x-msec-control-key"];
  if (typeof given !== "string" || !sameSecret(given, key)) {
    reply(res, 403, error("permission_denied", "wrong or missing x-msec-control-key"));
    return;
  }
  store.reload().then(
    (r) => {
      // A listener that failed may have applied half the change: a restart is safer.
      if (r.listeners === 0 || r.failed > 0)
        reply(res, 200, {
          reloaded: false,
          changed: r.changed,
          ...(r.failed > 0 ? { failed: r.failed } : {}),
        });
      else reply(res, 200, { reloaded: true, changed: r.changed });
    },
    (e: Error) => reply(res, 500, error("internal", `config reload failed: ${e.message}`)),
  );
}

/** Constant time, whatever the lengths: compare digests, not the strings. */
export function sameSecret(a: string, b: string): boolean {
  const da = createHash("sha256").update(a).digest();
  const db = createHash("sha256").update(b).digest();
  return timingSafeEqual(da, db);
}

function error(code: ErrorCode, message: string) {
  return { code, message };
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}
