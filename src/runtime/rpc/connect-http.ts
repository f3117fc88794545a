import type { IncomingMessage, ServerResponse } from "node:http";
import { performance } from "node:perf_hooks";
import type { ErrorCode } from "../../core/errors.js";
import { CONFIG_CONTROL_PATH, handleConfigControl } from "../config/control.js";
import { PROMETHEUS_CONTENT_TYPE, renderPrometheus } from "../metrics/prometheus.js";
import { deadlineError, ServerCallContext, serveCall } from "./call.js";
import { connectStatus, toConnectCode } from "./codes.js";
import { newTraceId } from "./context.js";
import { hostOf } from "./meter.js";
import type { Dispatcher } from "./server.js";

/**
 * HTTP/1.1 on the service port: the Connect unary protocol (`POST /pkg.Service/Method`
 * with `application/json` or `application/proto`), so curl and stock Connect clients
 * can call; plus `GET /metrics` (Prometheus), `GET /health` and the agent's
 * `POST /_msec/config`.
 */
export function handleHttp(d: Dispatcher, req: IncomingMessage, res: ServerResponse): void {
  const path = (req.url ?? "/").split("?")[0] ?? "/";
  // Shutting down: answer, then close, so keep-alive clients open their next call elsewhere.
  if (d.closing) res.setHeader("connection", "close");
  if (path === CONFIG_CONTROL_PATH) {
    handleConfigControl(d.config, req, res);
    return;
  }
  if (req.method === "GET" && path === "/metrics") {
    res.writeHead(200, { "content-type": PROMETHEUS_CONTENT_TYPE });
    res.end(renderPrometheus(d.registry.all(), { service: d.service }));
    return;
  }
  if (req.method === "GET" && path === "/health") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(`{"status":"serving","service":${JSON.stringify(d.service)}}`);
    return;
  }
  const method = path.slice(1);
  if (req.method !== "POST") {
    sendError(
      res,
      "unimplemented",
      `use POST /<package.Service>/<Method> (got ${req.method} ${path})`,
      405,
    );
    return;
  }
  const route = d.route(method);
  if (!route) {
    sendError(res, "unimplemented", `no method ${method} on ${d.service}`, 404);
    return;
  }
  const type = (req.headers["content-type"] ?? "").split(";")[0]?.trim();
  if (type !== "application/json" && type !== "application/proto") {
    sendError(
      res,
      "invalid_argument",
      `content-type must be application/json or application/proto, not "${type}"`,
      415,
    );
    return;
  }
  const binary = type === "application/proto";
  if (binary && !route.proto) {
    sendError(res, "invalid_argument", `${method} takes JSON only`, 415);
    return;
  }

  const chunks: Buffer[] = [];
  let size = 0;
  let refused = false;
  req.on("data", (c: Buffer) => {
    size += c.length;
    if (size > d.maxMessageBytes && !refused) {
      refused = true;
      sendError(res, "resource_exhausted", `request body is over ${d.maxMessageBytes} bytes`);
      req.destroy();
      return;
    }
    if (!refused) chunks.push(c);
  });
  req.on("end", () => {
    if (refused) return;
    void serveHttp(d, route, method, Buffer.concat(chunks), binary, req, res, type);
  });
}

async function serveHttp(
  d: Dispatcher,
  route: NonNullable<ReturnType<Dispatcher["route"]>>,
  method: string,
  body: Buffer,
  binary: boolean,
  req: IncomingMessage,
  res: ServerResponse,
  contentType: string,
): Promise<void> {
  const started = performance.now();
  const peer = `${req.socket.remoteAddress ?? "?"}:${req.socket.remotePort ?? 0}`;
  const timeoutMs = Number(req.headers["connect-timeout-ms"] ?? 0);
  const ctx = new ServerCallContext(
    method,
    timeoutMs > 0 ? Date.now() + timeoutMs : undefined,
    headerValue(req, "x-msec-trace-id") ?? newTraceId(),
    headerValue(req, "x-msec-color") === "1",
    peer,
  );
  const end = d.begin();
  let done = false;
  const timer =
    timeoutMs > 0
      ? setTimeout(() => {
          if (done) return;
          done = true;
          const err = deadlineError(timeoutMs);
          ctx.abort(err);
          d.meter?.record(method, hostOf(peer), "deadline_exceeded", performance.now() - started);
          sendError(res, "deadline_exceeded", err.message);
        }, timeoutMs)
      : undefined;
  const served = await serveCall(route, body, binary, ctx);
  end();
  if (done) return;
  done = true;
  if (timer) clearTimeout(timer);
  if (d.closing && !res.headersSent) res.setHeader("connection", "close");
  d.meter?.record(
    method,
    hostOf(peer),
    served.ok ? "ok" : served.code,
    performance.now() - started,
  );
  if (!served.ok) {
    sendError(res, served.code, served.message);
    return;
  }
  res.writeHead(200, {
    "content-type": contentType,
    "content-length":
      typeof served.reply === "string" ? Buffer.byteLength(served.reply) : served.reply.length,
    "x-msec-trace-id": ctx.traceId,
  });
  res.end(served.reply);
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === "string" && v.length > 0 && v.length <= 255 ? v : undefined;
}

function sendError(res: ServerResponse, code: ErrorCode, message: string, status?: number): void {
  if (res.headersSent) return;
  const body = JSON.stringify({ code: toConnectCode(code), message });
  res.writeHead(status ?? connectStatus(code), {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
  });
  res.end(body);
}
