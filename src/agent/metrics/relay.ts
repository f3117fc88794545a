import { timingSafeEqual } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { errorFromBody, isMsecError, MsecError } from "../../core/errors.js";
import type { Logger } from "../../core/log.js";
import { parseIngest } from "./ingest.js";
import { BatchMerger, type RelayBody } from "./merge.js";
import { Outbox, type PumpResult } from "./outbox.js";
import { DiskSpool, type Spool } from "./spool.js";

export interface MetricsRelayOptions {
  /** Post one body to the console (`POST /api/v1/metrics/ingest` with the machine credential); throw on failure. */
  send(body: RelayBody): Promise<void>;
  /** Where batches wait while the console is down. */
  spoolDir: string;
  /** How often the machine's merged batch goes out (60 s; 10 s in `msec up`). */
  intervalMs: number;
  /** Bodies kept in memory while the console is down, before spilling to disk (default 30). */
  maxMemoryBatches?: number;
  /** Disk the spool may use before it drops its oldest file (default 1 GiB). */
  maxSpoolBytes?: number;
  log: Logger;
  /** Loopback port to listen on (default 0: a free one). */
  port?: number;
  /**
   * A secret processes must send (`Authorization: Bearer KEY`, from MSEC_METRICS_KEY):
   * loopback is shared by every user of the machine.
   */
  key?: string;
  /** Instead of the disk spool (tests). */
  spool?: Spool;
}

/** The paths a process may post to: the runtime's shipper uses the first. */
const PATHS = new Set(["/api/v1/metrics/ingest", "/api/v1/metrics"]);
const BODY_LIMIT = 32 * 1024 * 1024;
const MAX_BACKOFF_MS = 30_000;

/**
 * The agent's metrics relay. Processes on the machine post their minutes to it on
 * loopback, exactly as they would to the console; every interval it merges them into
 * one batch and sends it on. While the console is down the batches wait, in memory
 * then on disk, and go out oldest first (with backoff) when it is back.
 *
 *   const relay = new MetricsRelay({ send, spoolDir, intervalMs: 60_000, log });
 *   const { url } = await relay.start();   // give the processes MSEC_METRICS_URL=url
 *   ...
 *   await relay.stop();                    // last attempt; the rest stays on disk
 */
export class MetricsRelay {
  private merger = new BatchMerger();
  private readonly outbox: Outbox;
  private readonly server: http.Server;
  private ticker: NodeJS.Timeout | undefined;
  private retry: NodeJS.Timeout | undefined;
  private failures = 0;
  private retryAt = 0;
  private stopping = false;
  private stopped: Promise<void> | undefined;

  constructor(private readonly opts: MetricsRelayOptions) {
    this.outbox = new Outbox({
      spool: opts.spool ?? new DiskSpool(opts.spoolDir, opts.log),
      send: opts.send,
      maxMemory: Math.max(2, opts.maxMemoryBatches ?? 30),
      maxSpoolBytes: opts.maxSpoolBytes ?? 1024 ** 3,
      log: opts.log,
    });
    this.server = http.createServer((req, res) => this.handle(req, res));
  }

  async start(): Promise<{ url: string }> {
    await this.outbox.load();
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.opts.port ?? 0, "127.0.0.1", () => {
        this.server.off("error", reject);
        resolve();
      });
    });
    this.ticker = setInterval(() => void this.flush(), this.opts.intervalMs);
    this.ticker.unref();
    // Leftovers from before a restart go out now, not an interval later.
    if (!this.outbox.empty) void this.pump();
    const url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    this.opts.log.info({ url, intervalMs: this.opts.intervalMs }, "metrics relay listening");
    return { url };
  }

  /** Close the interval now: merge what came in, queue it, try to send (unless backing off). True when all is delivered. */
  flush(): Promise<boolean> {
    const bodies = this.merger.take();
    if (bodies.length > 0) this.outbox.enqueue(bodies);
    return this.pump();
  }

  /** Stop listening, make a last attempt to send, and leave the rest on disk. */
  stop(): Promise<void> {
    this.stopped ??= this.shutdown();
    return this.stopped;
  }

  private async shutdown(): Promise<void> {
    this.stopping = true;
    if (this.ticker) clearInterval(this.ticker);
    if (this.retry) clearTimeout(this.retry);
    if (this.server.listening)
      await new Promise<void>((resolve) => {
        this.server.close(() => resolve());
        this.server.closeIdleConnections();
      });
    this.retryAt = 0;
    const bodies = this.merger.take();
    if (bodies.length > 0) this.outbox.enqueue(bodies);
    const delivered = await this.outbox.pump(true).then(
      (r) => r.done,
      () => false,
    );
    if (!delivered) await this.outbox.persist().catch(() => false);
    this.opts.log.info({ delivered, ...this.outbox.pending }, "metrics relay stopped");
  }

  /** What waits to be delivered, and points dropped because the spool was full. */
  get stats(): { memory: number; files: number; spoolBytes: number; dropped: number } {
    return { ...this.outbox.pending, dropped: this.outbox.dropped };
  }

  private async pump(): Promise<boolean> {
    const send = Date.now() >= this.retryAt;
    let result: PumpResult;
    try {
      result = await this.outbox.pump(send);
    } catch (e) {
      // A spool write or delete that failed: the batches are still held; try again later.
      result = { done: false, failed: (e as Error).message };
    }
    const { done, failed } = result;
    if (!send || this.stopping) return done;
    if (failed === undefined) {
      if (this.failures > 0) this.opts.log.info("console reachable again: metric batches sent");
      this.failures = 0;
      return done;
    }
    this.failures++;
    const delay = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** Math.min(this.failures - 1, 5));
    this.retryAt = Date.now() + delay;
    if (this.failures === 1 || this.failures % 10 === 0)
      this.opts.log.warn(
        { err: failed, failures: this.failures, ...this.outbox.pending },
        "cannot send metrics to the console; keeping them",
      );
    if (this.retry) clearTimeout(this.retry);
    this.retry = setTimeout(() => void this.pump(), delay);
    this.retry.unref();
    return false;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    if (req.method !== "POST" || !PATHS.has(path)) {
      req.resume();
      reply(res, new MsecError("not_found", "use POST /api/v1/metrics/ingest"));
      return;
    }
    if (this.opts.key !== undefined && !sameKey(req.headers.authorization, this.opts.key)) {
      req.resume();
      reply(res, new MsecError("unauthenticated", "send the relay's key (MSEC_METRICS_KEY)"));
      return;
    }
    if (this.stopping) {
      req.resume();
      reply(res, new MsecError("unavailable", "the metrics relay is stopping"));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > BODY_LIMIT && !refused) {
        refused = true;
        reply(res, new MsecError("payload_too_large", `body is over ${BODY_LIMIT} bytes`));
        req.destroy();
      }
      if (!refused) chunks.push(c);
    });
    req.on("end", () => {
      if (refused) return;
      try {
        let body: unknown;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
        } catch {
          throw new MsecError("invalid_argument", "body: must be JSON", { field: "body" });
        }
        const { batches, accepted, rejected } = parseIngest(body);
        for (const b of batches) this.merger.add(b);
        if (rejected.length > 0) {
          const first = rejected[0] as (typeof rejected)[number];
          const e = new MsecError(
            "invalid_argument",
            `body.${first.at}: ${first.error} (${rejected.length} point(s) refused, ${accepted} kept)`,
            { field: `body.${first.at}` },
          );
          reply(res, e, { accepted, rejected });
        } else send(res, 200, { accepted, rejected: [] });
      } catch (e) {
        reply(res, isMsecError(e) ? e : new MsecError("internal", (e as Error).message));
      }
    });
  }
}

/**
 * The usual `send`: post to the console's ingest with the machine credential. Throws an
 * MsecError: `unavailable` when the console cannot be reached, else the console's code.
 */
export function postToConsole(
  consoleUrl: string,
  credential: string,
  timeoutMs = 10_000,
): MetricsRelayOptions["send"] {
  const url = `${consoleUrl.replace(/\/+$/, "")}/api/v1/metrics/ingest`;
  return async (body) => {
    let res: Response;
    try {
      res = await fetch(url, {
        method: "POST",
        headers: { authorization: `Bearer ${credential}`, "content-type": "application/json" },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (e) {
      throw new MsecError(
        "unavailable",
        `console at ${consoleUrl} unreachable: ${(e as Error).message}`,
      );
    }
    const text = await res.text();
    if (!res.ok) {
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      throw errorFromBody(res.status, json);
    }
  };
}

function reply(res: http.ServerResponse, e: MsecError, extra: Record<string, unknown> = {}): void {
  send(res, e.status, { ...e.toJSON(), ...extra });
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}

function sameKey(header: string | undefined, key: string): boolean {
  const sent = Buffer.from(/^Bearer (\S+)$/i.exec(header ?? "")?.[1] ?? "");
  const want = Buffer.from(key);
  return sent.length === want.length && timingSafeEqual(sent, want);
}
