import net from "node:net";
import { MsecError } from "../../core/errors.js";
import {
  DEFAULT_MAX_FRAME,
  encodeRequest,
  FLAG_NOT_PROCESSED,
  type Frame,
  FrameKind,
  FrameReader,
  PREFACE,
} from "../../core/wire/frame.js";
import { TickWriter } from "./tick-writer.js";

export interface Reply {
  /** Undefined for success. */
  code: MsecError["code"] | undefined;
  body: Buffer;
}

interface Pending {
  resolve(reply: Reply): void;
  reject(err: MsecError): void;
  /** Epoch ms after which the call fails with deadline_exceeded; 0 for none. */
  deadline: number;
  method: string;
  timeoutMs: number;
}

/**
 * How often a connection checks its calls' deadlines. One sweep per connection instead
 * of a timer per call; the server enforces the deadline to the millisecond anyway, this
 * only covers a server that went silent.
 */
const SWEEP_MS = 10;

/**
 * The client side of one binary-protocol connection to one instance: requests are
 * multiplexed by id, many in flight, answered in any order. Writes issued in the same
 * tick leave in one packet.
 */
export class ClientConnection {
  private readonly socket: net.Socket;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private readonly writer: TickWriter;
  /** `draining`: no new call (the server said goaway, or the instance left the list). */
  private state: "connecting" | "open" | "draining" | "closed" = "connecting";
  private readonly ready: Promise<void>;
  /** Why the connection ended, once it has. */
  failure: MsecError | undefined;
  private sweeper: NodeJS.Timeout | undefined;

  constructor(
    readonly addr: string,
    private readonly onClosed: (c: ClientConnection) => void,
    maxFrame = DEFAULT_MAX_FRAME,
    connectTimeoutMs = 3000,
  ) {
    const { host, port } = splitAddr(addr);
    this.socket = net.connect({ host, port, noDelay: true });
    this.socket.write(PREFACE);
    this.writer = new TickWriter(this.socket);
    const reader = new FrameReader((f) => this.onFrame(f), maxFrame + 600);
    this.ready = new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.fail(
          new MsecError("unavailable", `connect to ${addr} timed out after ${connectTimeoutMs} ms`),
        );
      }, connectTimeoutMs);
      this.socket.once("connect", () => {
        clearTimeout(timer);
        if (this.state === "connecting") this.state = "open";
        resolve();
      });
      this.socket.once("close", () => {
        clearTimeout(timer);
        reject(this.failure ?? new MsecError("unavailable", `connection to ${addr} closed`));
      });
    });
    this.ready.catch(() => {});
    this.socket.on("data", (chunk: Buffer) => {
      try {
        reader.push(chunk);
      } catch (e) {
        this.fail(new MsecError("unavailable", `bad frame from ${addr}: ${(e as Error).message}`));
      }
    });
    this.socket.on("error", (e) =>
      this.fail(new MsecError("unavailable", `${addr}: ${e.message}`, { cause: e })),
    );
    this.socket.on("close", () =>
      this.fail(new MsecError("unavailable", `connection to ${addr} closed`)),
    );
  }

  /** Takes new calls (a draining connection only finishes the ones it has). */
  get isOpen(): boolean {
    return this.state === "connecting" || this.state === "open";
  }

  get inFlight(): number {
    return this.pending.size;
  }

  /**
   * Send one request. Rejects with `unavailable` if the connection fails before the
   * answer, `deadline_exceeded` if `timeoutMs` passes first (a late answer is dropped).
   */
  call(
    method: string,
    flags: number,
    timeoutMs: number,
    traceId: string,
    body: Uint8Array | string,
  ): Promise<Reply> {
    // The open connection is the hot path: no async wrapper, no extra await.
    if (this.state === "open") return this.send(method, flags, timeoutMs, traceId, body);
    return this.callWhenReady(method, flags, timeoutMs, traceId, body);
  }

  private async callWhenReady(
    method: string,
    flags: number,
    timeoutMs: number,
    traceId: string,
    body: Uint8Array | string,
  ): Promise<Reply> {
    try {
      if (this.state === "connecting") await this.ready;
    } catch (e) {
      throw new NotSentError((e as MsecError).message);
    }
    if (this.state !== "open")
      throw new NotSentError(this.failure?.message ?? `connection to ${this.addr} is closing`);
    return this.send(method, flags, timeoutMs, traceId, body);
  }

  private send(
    method: string,
    flags: number,
    timeoutMs: number,
    traceId: string,
    body: Uint8Array | string,
  ): Promise<Reply> {
    const id = this.nextId;
    this.nextId = this.nextId >= 0x7fffffff ? 1 : this.nextId + 1;
    const frame = encodeRequest(id, flags, timeoutMs, method, traceId, body);
    return new Promise<Reply>((resolve, reject) => {
      this.pending.set(id, {
        resolve,
        reject,
        deadline: timeoutMs > 0 ? Date.now() + timeoutMs : 0,
        method,
        timeoutMs,
      });
      if (timeoutMs > 0 && this.sweeper === undefined) this.startSweeper();
      this.writer.write(frame);
    });
  }

  private startSweeper(): void {
    this.sweeper = setInterval(() => {
      const now = Date.now();
      let waiting = false;
      for (const [id, p] of this.pending) {
        if (p.deadline === 0) continue;
        if (p.deadline <= now) {
          this.pending.delete(id);
          p.reject(
            new MsecError(
              "deadline_exceeded",
              `deadline of ${p.timeoutMs} ms exceeded calling ${p.method} on ${this.addr}`,
            ),
          );
        } else waiting = true;
      }
      if (!waiting) {
        clearInterval(this.sweeper);
        this.sweeper = undefined;
      }
    }, SWEEP_MS);
    this.sweeper.unref();
  }

  close(): void {
    this.fail(new MsecError("unavailable", `connection to ${this.addr} closed by the client`));
  }

  /**
   * Send no new call; let the calls in flight finish. Half-closes the socket: the server
   * sees the end of the stream after our last request, answers it, and ends too.
   */
  drain(): void {
    if (this.state === "closed" || this.state === "draining") return;
    if (this.pending.size === 0) {
      this.close();
      return;
    }
    this.state = "draining";
    this.socket.end();
  }

  private onFrame(f: Frame): void {
    if (f.kind === FrameKind.response) {
      const p = this.pending.get(f.id);
      if (!p) return;
      this.pending.delete(f.id);
      // Refused before it ran (the server is shutting down): any instance may take it.
      if (f.code !== undefined && (f.flags & FLAG_NOT_PROCESSED) !== 0)
        p.reject(new NotSentError(`${this.addr}: ${f.body.toString("utf8")}`));
      else p.resolve({ code: f.code, body: f.body });
    } else if (f.kind === FrameKind.goaway) {
      this.drain();
    } else if (f.kind === FrameKind.close) {
      const message = `${this.addr} closed the connection: ${f.message}`;
      // The server answered every request it ran: the ones still waiting never ran.
      this.fail(
        (f.flags & FLAG_NOT_PROCESSED) !== 0
          ? new NotSentError(message)
          : new MsecError(f.code, message),
      );
    } else {
      this.fail(new MsecError("unavailable", `${this.addr} sent a request frame to a client`));
    }
  }

  private fail(err: MsecError): void {
    if (this.state === "closed") return;
    this.state = "closed";
    this.failure = err;
    this.socket.destroy();
    if (this.sweeper) clearInterval(this.sweeper);
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    this.onClosed(this);
  }
}

export function splitAddr(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(":");
  const host = addr.slice(0, i).replace(/^\[(.*)\]$/, "$1");
  return { host, port: Number(addr.slice(i + 1)) };
}

/** The request never left this process: safe to retry even if not idempotent. */
export class NotSentError extends MsecError {
  constructor(message: string) {
    super("unavailable", message);
  }
}
