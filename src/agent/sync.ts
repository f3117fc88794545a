import { isMsecError } from "../core/errors.js";
import type { Logger } from "../core/log.js";
import type { DesiredState, StateReport } from "../core/schemas/machine.js";
import type { AgentApi } from "./api.js";
import { Backoff, CONSOLE_RETRY } from "./backoff.js";

export interface DesiredSyncOptions {
  api: Pick<AgentApi, "desired">;
  log: Logger;
  /** The revision already known (from state.json), 0 on a first start. */
  after: number;
  /** How long the console holds a long-poll open (default 25 s). */
  waitMs?: number;
  onDesired(state: DesiredState): void;
  random?: () => number;
}

/**
 * The desired-state long-poll. A console that is down or refuses changes nothing
 * here (what runs keeps running); it is retried 0.5 s → 30 s with jitter.
 */
export class DesiredSync {
  private readonly abort = new AbortController();
  private readonly backoff: Backoff;
  private after: number;
  private loop: Promise<void> | undefined;

  constructor(private readonly opts: DesiredSyncOptions) {
    this.after = opts.after;
    this.backoff = new Backoff(CONSOLE_RETRY, opts.random);
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    while (!signal.aborted) {
      try {
        const d = await this.opts.api.desired(this.after, this.opts.waitMs ?? 25_000, signal);
        if (this.backoff.failures > 0) this.opts.log.info("console reachable again");
        this.backoff.reset();
        if (d.revision !== this.after) {
          this.after = d.revision;
          this.opts.onDesired(d);
        }
      } catch (e) {
        if (signal.aborted) break;
        let delay = this.backoff.next();
        const n = this.backoff.failures;
        const refused =
          isMsecError(e) && (e.code === "unauthenticated" || e.code === "permission_denied");
        // A refused credential will not get better quickly: retry slowly, say it loudly.
        if (refused) delay = Math.max(delay, CONSOLE_RETRY.maxMs);
        if (n === 1 || n % 10 === 0 || refused) {
          this.opts.log[refused ? "error" : "warn"](
            { err: (e as Error).message, failures: n, retryInMs: delay },
            refused
              ? "the console refuses this machine's credential; services keep running"
              : "cannot reach the console; services keep running",
          );
        }
        await sleep(delay, signal);
      }
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

export interface ReporterOptions {
  api: Pick<AgentApi, "report">;
  log: Logger;
  build(): StateReport;
  /** Heartbeat period (default 5 s). */
  intervalMs?: number;
  /** Changes within this window go out as one report (default 100 ms). */
  debounceMs?: number;
}

/** Sends the StateReport on every change (debounced) and every 5 s; one send at a time. */
export class Reporter {
  private timer: NodeJS.Timeout | undefined;
  private soon: NodeJS.Timeout | undefined;
  private sending: Promise<void> | undefined;
  private again = false;
  private failures = 0;
  private stopped = false;

  constructor(private readonly opts: ReporterOptions) {}

  start(): void {
    this.timer = setInterval(() => this.send(), this.opts.intervalMs ?? 5000);
    this.timer.unref();
    this.send();
  }

  changed(): void {
    if (this.soon || this.stopped) return;
    this.soon = setTimeout(() => {
      this.soon = undefined;
      this.send();
    }, this.opts.debounceMs ?? 100);
    this.soon.unref();
  }

  /** Send now and wait for it (and for one in flight). */
  async flush(): Promise<void> {
    this.send();
    while (this.sending) await this.sending;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.soon) clearTimeout(this.soon);
  }

  private send(): void {
    if (this.sending) {
      this.again = true;
      return;
    }
    this.sending = this.once().finally(() => {
      this.sending = undefined;
      if (this.again && !this.stopped) {
        this.again = false;
        this.send();
      }
    });
  }

  private async once(): Promise<void> {
    try {
      await this.opts.api.report(this.opts.build());
      if (this.failures > 0) this.opts.log.info("state reports reach the console again");
      this.failures = 0;
    } catch (e) {
      this.failures++;
      if (this.failures === 1 || this.failures % 60 === 0) {
        this.opts.log.warn({ err: (e as Error).message }, "state report failed; will resend");
      }
    }
  }
}
