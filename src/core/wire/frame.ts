/**
 * msec's binary RPC framing. A TCP connection starts with the 5-byte preface
 * `MSEC\x01` from the client (which is how a server port tells it from HTTP/1.1),
 * then carries frames both ways, many requests in flight at once:
 *
 *   u32 length of the rest of the frame (big-endian)
 *   u8  kind: 1 request, 2 response, 3 close (a fatal error, then the sender closes),
 *           4 goaway (server → client: shutting down, send no new request here)
 *   u8  flags: bit 0 colored (log everything on this request's path), bit 1 JSON body,
 *           bit 2 not processed (on an error response or a close frame: the server
 *           never ran the request(s) left unanswered, so any instance may take them)
 *   u32 request id (chosen by the client, echoed by the server; 0 in a close frame)
 *   request:  u32 timeout in ms (0: none), u8 method length, method (UTF-8),
 *             u8 trace-id length, trace id (ASCII), body
 *   response: u8 status (0 ok, else a code from RPC_CODES, and the body is the message)
 *   close:    u8 status, body is the message
 *   goaway:   as close. The client stops sending on the connection and half-closes it
 *             (TCP FIN); the server answers every request it read, then ends it too.
 *             No request is lost in between: whatever the client sent before its FIN
 *             reaches the server before the end of the stream.
 */
import { type ErrorCode, MsecError } from "../errors.js";

export const PREFACE = Buffer.from("MSEC\x01", "latin1");
export const DEFAULT_MAX_FRAME = 4 * 1024 * 1024;

export const FrameKind = { request: 1, response: 2, close: 3, goaway: 4 } as const;
export const FLAG_COLOR = 1;
export const FLAG_JSON = 2;
/** The server did not run the request (or the requests left unanswered): safe to retry anywhere. */
export const FLAG_NOT_PROCESSED = 4;

/** Status codes on the wire: index in this list (0 is success). Never reorder; only append. */
export const RPC_CODES: readonly (ErrorCode | "ok")[] = [
  "ok",
  "canceled",
  "unknown",
  "invalid_argument",
  "deadline_exceeded",
  "not_found",
  "already_exists",
  "permission_denied",
  "resource_exhausted",
  "failed_precondition",
  "aborted",
  "out_of_range",
  "unimplemented",
  "internal",
  "unavailable",
  "data_loss",
  "unauthenticated",
  "payload_too_large",
  "unsupported_media_type",
];

const CODE_INDEX = new Map(RPC_CODES.map((c, i) => [c, i]));

export interface RequestFrame {
  kind: typeof FrameKind.request;
  id: number;
  flags: number;
  timeoutMs: number;
  method: string;
  traceId: string;
  body: Buffer;
}

export interface ResponseFrame {
  kind: typeof FrameKind.response;
  id: number;
  flags: number;
  /** Undefined for success. */
  code: ErrorCode | undefined;
  /** The reply, or the error message for a failure. */
  body: Buffer;
}

export interface CloseFrame {
  kind: typeof FrameKind.close | typeof FrameKind.goaway;
  flags: number;
  code: ErrorCode;
  message: string;
}

export type Frame = RequestFrame | ResponseFrame | CloseFrame;

const HEAD = 4 + 1 + 1 + 4;

export function encodeRequest(
  id: number,
  flags: number,
  timeoutMs: number,
  method: string,
  traceId: string,
  body: Uint8Array | string,
): Buffer {
  const methodLen = Buffer.byteLength(method);
  const traceLen = traceId.length;
  if (methodLen > 255)
    throw new MsecError("invalid_argument", `method name over 255 bytes: ${method.slice(0, 40)}…`);
  if (traceLen > 255) throw new MsecError("invalid_argument", "trace id over 255 characters");
  const bodyLen = typeof body === "string" ? Buffer.byteLength(body) : body.length;
  const total = HEAD + 4 + 1 + methodLen + 1 + traceLen + bodyLen;
  const buf = Buffer.allocUnsafe(total);
  buf.writeUInt32BE(total - 4, 0);
  buf[4] = FrameKind.request;
  buf[5] = flags;
  buf.writeUInt32BE(id, 6);
  buf.writeUInt32BE(Math.max(0, Math.min(0xffffffff, Math.ceil(timeoutMs))), 10);
  buf[14] = methodLen;
  let at = 15 + buf.write(method, 15, "utf8");
  buf[at++] = traceLen;
  at += buf.write(traceId, at, "latin1");
  writeBody(buf, body, at);
  return buf;
}

export function encodeResponse(
  id: number,
  flags: number,
  code: ErrorCode | undefined,
  body: Uint8Array | string,
): Buffer {
  const total = HEAD + 1 + (typeof body === "string" ? Buffer.byteLength(body) : body.length);
  const buf = Buffer.allocUnsafe(total);
  buf.writeUInt32BE(total - 4, 0);
  buf[4] = FrameKind.response;
  buf[5] = flags;
  buf.writeUInt32BE(id, 6);
  buf[10] = code === undefined ? 0 : (CODE_INDEX.get(code) ?? CODE_INDEX.get("unknown") ?? 2);
  writeBody(buf, body, 11);
  return buf;
}

/** JSON bodies arrive as strings and are written straight into the frame (one copy, not two). */
function writeBody(buf: Buffer, body: Uint8Array | string, at: number): void {
  if (typeof body === "string") buf.write(body, at, "utf8");
  else buf.set(body, at);
}

export function encodeError(id: number, code: ErrorCode, message: string, flags = 0): Buffer {
  return encodeResponse(id, flags, code, Buffer.from(message, "utf8"));
}

export function encodeClose(
  code: ErrorCode,
  message: string,
  flags = 0,
  kind: typeof FrameKind.close | typeof FrameKind.goaway = FrameKind.close,
): Buffer {
  const msg = Buffer.from(message, "utf8");
  const total = HEAD + 1 + msg.length;
  const buf = Buffer.allocUnsafe(total);
  buf.writeUInt32BE(total - 4, 0);
  buf[4] = kind;
  buf[5] = flags;
  buf.writeUInt32BE(0, 6);
  buf[10] = CODE_INDEX.get(code) ?? 2;
  msg.copy(buf, 11);
  return buf;
}

/** Server → client: no new request on this connection; those already sent will be answered. */
export function encodeGoaway(message: string): Buffer {
  return encodeClose("unavailable", message, 0, FrameKind.goaway);
}

/** A protocol violation: the connection cannot be trusted any more and is closed. */
export class FrameError extends MsecError {}

function codeAt(buf: Buffer, at: number): ErrorCode {
  const code = RPC_CODES[buf[at] ?? 2];
  if (code === undefined || code === "ok")
    throw new FrameError("invalid_argument", `unknown status code ${buf[at]}`);
  return code;
}

/** Decode one complete frame (without its length prefix). Throws FrameError when malformed. */
export function decodeFrame(frame: Buffer): Frame {
  if (frame.length < HEAD - 4)
    throw new FrameError(
      "invalid_argument",
      `frame of ${frame.length} bytes is shorter than its header`,
    );
  const kind = frame[0];
  const flags = frame[1] ?? 0;
  const id = frame.readUInt32BE(2);
  switch (kind) {
    case FrameKind.request: {
      if (frame.length < 6 + 4 + 1)
        throw new FrameError("invalid_argument", "request frame too short");
      const timeoutMs = frame.readUInt32BE(6);
      const methodLen = frame[10] ?? 0;
      const traceAt = 11 + methodLen;
      if (methodLen === 0 || traceAt >= frame.length)
        throw new FrameError("invalid_argument", "request frame: bad method length");
      const traceLen = frame[traceAt] ?? 0;
      const bodyAt = traceAt + 1 + traceLen;
      if (bodyAt > frame.length)
        throw new FrameError("invalid_argument", "request frame: bad trace id length");
      return {
        kind,
        id,
        flags,
        timeoutMs,
        method: frame.toString("utf8", 11, traceAt),
        traceId: frame.toString("latin1", traceAt + 1, bodyAt),
        body: frame.subarray(bodyAt),
      };
    }
    case FrameKind.response: {
      if (frame.length < 7) throw new FrameError("invalid_argument", "response frame too short");
      const status = frame[6] ?? 0;
      return {
        kind,
        id,
        flags,
        code: status === 0 ? undefined : codeAt(frame, 6),
        body: frame.subarray(7),
      };
    }
    case FrameKind.close:
    case FrameKind.goaway: {
      if (frame.length < 7) throw new FrameError("invalid_argument", "close frame too short");
      return { kind, flags, code: codeAt(frame, 6), message: frame.toString("utf8", 7) };
    }
    default:
      throw new FrameError("invalid_argument", `unknown frame kind ${kind}`);
  }
}

/**
 * Splits a byte stream into frames. Feed it chunks as they arrive; it calls `onFrame`
 * for each complete frame, and throws FrameError for a frame over the size limit
 * (before buffering it) or a malformed one.
 */
export class FrameReader {
  private pending: Buffer | undefined;

  constructor(
    private readonly onFrame: (frame: Frame) => void,
    private readonly maxFrame = DEFAULT_MAX_FRAME,
  ) {}

  push(chunk: Buffer): void {
    const buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    let at = 0;
    while (buf.length - at >= 4) {
      const len = buf.readUInt32BE(at);
      if (len > this.maxFrame) {
        throw new FrameError(
          "resource_exhausted",
          `frame of ${len} bytes is over the limit of ${this.maxFrame}`,
        );
      }
      if (buf.length - at - 4 < len) break;
      this.onFrame(decodeFrame(buf.subarray(at + 4, at + 4 + len)));
      at += 4 + len;
    }
    // A partial frame waits for the next chunk (and is copied once, by concat, then).
    this.pending = at === buf.length ? undefined : buf.subarray(at);
  }
}
