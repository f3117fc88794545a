/**
 * Watches over server-sent events: one HTTP response per client, carrying any number of
 * service names. On connect each name gets its current view (`event: service`), then
 * one event per change, with bursts coalesced per service; a `: ping` comment keeps
 * proxies from timing the stream out.
 *
 * ```ts
 * const hub = createWatchHub((name) => viewOf(reg, name), { coalesceMs: 50, pingMs: 15_000 });
 * hub.open(reply.raw, ["Demo.Echo"], [undefined]);
 * hub.notify("Demo.Echo"); // after a change
 * ```
 */
import type { ServerResponse } from "node:http";
import type { ServiceView } from "../../core/schemas/naming.js";

export interface WatchOptions {
  /** Changes of one service within this many ms go out as one event. */
  coalesceMs: number;
  /** Interval of `: ping` comments. */
  pingMs: number;
  /** A client that falls this far behind is cut off (it reconnects with its revisions). */
  maxBufferedBytes?: number;
}

export interface WatchHub {
  /** Open a stream on a response the caller has taken over from the HTTP framework. */
  open(
    res: ServerResponse,
    names: readonly string[],
    revisions: readonly (number | undefined)[],
  ): void;
  /** A service changed: push its view to its watchers soon. */
  notify(name: string): void;
  /** End every stream and refuse new ones (console shutdown). */
  closeAll(): void;
  readonly closed: boolean;
  /** Open streams (for tests and metrics). */
  readonly size: number;
}

interface Stream {
  res: ServerResponse;
  names: readonly string[];
  /** Last revision sent per name: a push of the same revision is skipped. */
  sent: Map<string, number>;
  ping: NodeJS.Timeout;
}

const DEFAULT_MAX_BUFFERED = 4 * 1024 * 1024;
/** How long a client waits before reconnecting after the stream drops (EventSource `retry:`). */
const RETRY_MS = 2000;

export function createWatchHub(
  viewOf: (name: string) => ServiceView,
  opts: WatchOptions,
): WatchHub {
  const streams = new Set<Stream>();
  const byName = new Map<string, Set<Stream>>();
  const pending = new Map<string, NodeJS.Timeout>();
  const maxBuffered = opts.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED;
  let closed = false;

  function end(s: Stream): void {
    if (!streams.delete(s)) return;
    clearInterval(s.ping);
    for (const name of s.names) {
      const set = byName.get(name);
      set?.delete(s);
      if (set?.size === 0) byName.delete(name);
    }
    if (!s.res.writableEnded) s.res.end();
  }

  function send(s: Stream, view: ServiceView): void {
    if (s.sent.get(view.name) === view.revision) return;
    s.sent.set(view.name, view.revision);
    s.res.write(`event: service\ndata: ${JSON.stringify(view)}\n\n`);
    if (s.res.writableLength > maxBuffered) end(s);
  }

  function flush(name: string): void {
    pending.delete(name);
    const set = byName.get(name);
    if (!set || set.size === 0) return;
    const view = viewOf(name);
    for (const s of [...set]) send(s, view);
  }

  return {
    get closed() {
      return closed;
    },
    get size() {
      return streams.size;
    },

    open(res, names, revisions) {
      res.writeHead(200, {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache, no-transform",
        connection: "keep-alive",
        // Tell nginx and friends not to buffer the stream.
        "x-accel-buffering": "no",
      });
      res.write(`retry: ${RETRY_MS}\n\n`);
      if (closed) {
        res.end();
        return;
      }
      const s: Stream = {
        res,
        names,
        sent: new Map(),
        ping: setInterval(() => res.write(": ping\n\n"), opts.pingMs),
      };
      s.ping.unref();
      streams.add(s);
      for (const name of names) {
        let set = byName.get(name);
        if (!set) {
          set = new Set();
          byName.set(name, set);
        }
        set.add(s);
      }
      res.on("close", () => end(s));
      names.forEach((name, i) => {
        const known = revisions[i];
        if (known !== undefined) s.sent.set(name, known);
        send(s, viewOf(name));
      });
    },

    notify(name) {
      if (closed || pending.has(name) || !byName.has(name)) return;
      const timer = setTimeout(() => flush(name), opts.coalesceMs);
      timer.unref();
      pending.set(name, timer);
    },

    closeAll() {
      closed = true;
      for (const timer of pending.values()) clearTimeout(timer);
      pending.clear();
      for (const s of [...streams]) end(s);
    },
  };
}
