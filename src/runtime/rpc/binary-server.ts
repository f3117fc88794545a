import type { Socket } from "node:net";
import { performance } from "node:perf_hooks";
import { type ErrorCode, MsecError } from "../../core/errors.js";
import {
  encodeClose,
  encodeError,
  encodeGoaway,
  encodeResponse,
  FLAG_COLOR,
  FLAG_JSON,
  FLAG_NOT_PROCESSED,
  type Frame,
  FrameError,
  FrameKind,
  FrameReader,
  type RequestFrame,
} from "../../core/wire/frame.js";
import { deadlineError, isThenable, type Served, ServerCallContext, serveCall } from "./call.js";
import { newTraceId } from "./context.js";
import { hostOf } from "./meter.js";
import type { Dispatcher } from "./server.js";
import { TickWriter } from "./tick-writer.js";

const SHUTTING_DOWN = "server is shutting down";

/** The server side of one binary-protocol connection: many calls in flight, answered in any order. */
export class BinaryConnection {
  private readonly reader: FrameReader;
  private readonly peer: string;
  private readonly peerHost: string;
  private readonly writer: TickWriter;
  private closed = false;
  /** The client half-closed: no request will come any more; end once the last is answered. */
  private peerEnded = false;
  /** Past the shutdown grace: refuse new requests (unprocessed, so retried elsewhere). */
  private refusing = false;
  /** Calls being served, so that they are cancelled if the caller goes away. */
  private readonly active = new Set<{ abort(reason: MsecError): void }>();

  constructor(
    private readonly socket: Socket,
    private readonly d: Dispatcher,
    private readonly onGone: (c: BinaryConnection) => void,
  ) {
    this.peer = `${socket.remoteAddress ?? "?"}:${socket.remotePort ?? 0}`;
    this.peerHost = hostOf(this.peer);
    this.writer = new TickWriter(socket);
    // Room for the frame header on top of the biggest message.
    this.reader = new FrameReader((f) => this.onFrame(f), d.maxMessageBytes + 600);
    socket.on("data", (chunk: Buffer) => this.push(chunk));
    socket.on("end", () => {
      this.peerEnded = true;
      this.endWhenIdle();
    });
    socket.on("close", () => {
      this.closed = true;
      for (const ctx of this.active)
        ctx.abort(new MsecError("canceled", "the caller closed the connection"));
      this.onGone(this);
    });
  }

  push(chunk: Buffer): void {
    if (this.closed) return;
    try {
      this.reader.push(chunk);
    } catch (e) {
      const err = e as FrameError;
      this.d.log.warn({ peer: this.peer, err: err.message }, "bad frame: closing the connection");
      this.close(
        err instanceof FrameError ? err.code : "invalid_argument",
        `bad frame: ${err.message}`,
      );
    }
  }

  /** Send a close frame saying why, then end the connection. */
  close(code: ErrorCode, message: string, flags = 0): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.end(encodeClose(code, message, flags));
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  /**
   * Shutdown, step 1: ask the client to send nothing new here. It half-closes; what it
   * sent before still arrives and is served, then the connection ends (see `endWhenIdle`).
   */
  goaway(): void {
    if (this.closed) return;
    this.writer.write(encodeGoaway(SHUTTING_DOWN));
  }

  /**
   * Shutdown, step 2, for a client that did not half-close in time: refuse what it sends
   * from now on as not processed, and close as soon as the calls in progress are answered.
   */
  refuse(): void {
    this.refusing = true;
    this.endWhenIdle();
  }

  get idle(): boolean {
    return this.active.size === 0;
  }

  private endWhenIdle(): void {
    if (this.closed || this.active.size > 0) return;
    if (this.peerEnded) {
      this.closed = true;
      this.socket.end();
    } else if (this.refusing) {
      // Every request read has been answered: whatever the client still waits for was never run.
      this.close("unavailable", SHUTTING_DOWN, FLAG_NOT_PROCESSED);
    }
  }

  private onFrame(f: Frame): void {
    if (f.kind !== FrameKind.request)
      throw new FrameError("invalid_argument", "a client may only send request frames");
    void this.serve(f);
  }

  private serve(f: RequestFrame): void {
    const started = performance.now();
    if (this.refusing) {
      const frame = encodeError(f.id, "unavailable", SHUTTING_DOWN, FLAG_NOT_PROCESSED);
      this.finish(f, started, "unavailable", frame);
      return;
    }
    const route = this.d.route(f.method);
    if (!route) {
      this.finish(
        f,
        started,
        "unimplemented",
        encodeError(f.id, "unimplemented", `no method ${f.method} on ${this.d.service}`),
      );
      return;
    }
    const end = this.d.begin();
    const ctx = new ServerCallContext(
      f.method,
      f.timeoutMs > 0 ? Date.now() + f.timeoutMs : undefined,
      f.traceId || newTraceId(),
      (f.flags & FLAG_COLOR) !== 0,
      this.peer,
    );
    const served = serveCall(route, f.body, route.proto && (f.flags & FLAG_JSON) === 0, ctx);
    if (!isThenable(served)) {
      end();
      this.answer(f, started, served);
      return;
    }
    // A handler that waits: watch its deadline, and cancel it if the caller goes away.
    this.active.add(ctx);
    let done = false;
    const timer =
      f.timeoutMs > 0
        ? setTimeout(() => {
            if (done) return;
            done = true;
            const err = deadlineError(f.timeoutMs);
            ctx.abort(err);
            this.finish(
              f,
              started,
              "deadline_exceeded",
              encodeError(f.id, "deadline_exceeded", err.message),
            );
          }, f.timeoutMs)
        : undefined;
    void served.then((result) => {
      this.active.delete(ctx);
      if (!done) {
        done = true;
        if (timer) clearTimeout(timer);
        this.answer(f, started, result);
      }
      // The answer is written before the connection ends; the server's count drops last,
      // so a shutdown waiting on it finds this connection already ending.
      if (this.peerEnded || this.refusing) this.endWhenIdle();
      end();
    });
  }

  private answer(f: RequestFrame, started: number, served: Served): void {
    if (served.ok)
      this.finish(
        f,
        started,
        "ok",
        encodeResponse(f.id, f.flags & FLAG_JSON, undefined, served.reply),
      );
    else this.finish(f, started, served.code, encodeError(f.id, served.code, served.message));
  }

  private finish(f: RequestFrame, started: number, code: string, frame: Buffer): void {
    this.d.meter?.record(f.method, this.peerHost, code, performance.now() - started);
    if (this.closed) return;
    this.writer.write(frame);
  }
}
