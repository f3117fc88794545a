import type { Logger } from "../../core/log.js";
import { ConsoleApi } from "../naming/console-api.js";
import { MinuteCollector } from "./collector.js";
import { metrics as defaultRegistry, type MetricsRegistry } from "./registry.js";

export interface ShipperOptions {
  service: string;
  /** This process's `ip:port` (or `host:pid`). */
  instance: string;
  /** Console URL (default MSEC_CONSOLE) and an operator token (default MSEC_TOKEN). */
  console?: string;
  token?: string;
  /**
   * The agent's local relay (default MSEC_METRICS_URL): when set, minutes go there instead
   * of to the console, same request, with the relay's key (MSEC_METRICS_KEY) as the token
   * (the agent sends them on with its own credential).
   */
  relay?: string;
  /** How often to send (default MSEC_METRICS_INTERVAL_MS, else 10 s to a relay, 60 s to the console). */
  intervalMs?: number;
  registry?: MetricsRegistry;
  log?: Logger;
}

/**
 * Sends this process's metrics to the console every interval: the minutes not yet
 * acknowledged, the current one included (it is resent as it grows). While the console
 * is unreachable the minutes wait in memory (up to three hours) and go out together
 * when it is back. Processes run by an agent hand their minutes to its relay instead.
 */
export class MetricsShipper {
  private readonly collector: MinuteCollector;
  private readonly api: ConsoleApi;
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  private sending: Promise<void> | undefined;
  private readonly relay: string | undefined;

  constructor(private readonly opts: ShipperOptions) {
    this.collector = new MinuteCollector(opts.registry ?? defaultRegistry);
    this.relay = opts.relay ?? (process.env.MSEC_METRICS_URL || undefined);
    this.api = this.relay
      ? new ConsoleApi(this.relay, process.env.MSEC_METRICS_KEY || undefined)
      : new ConsoleApi(
          opts.console ?? process.env.MSEC_CONSOLE ?? "http://127.0.0.1:7700",
          opts.token ?? process.env.MSEC_TOKEN,
        );
  }

  get intervalMs(): number {
    return (
      this.opts.intervalMs ??
      (Number(process.env.MSEC_METRICS_INTERVAL_MS) || (this.relay ? 10_000 : 60_000))
    );
  }

  start(): void {
    this.collector.collect(Date.now());
    this.timer = setInterval(() => void this.flush(), this.intervalMs);
    this.timer.unref();
  }

  /** Send what is pending now (also called at shutdown). */
  flush(): Promise<void> {
    this.sending ??= this.send().finally(() => {
      this.sending = undefined;
    });
    return this.sending;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.flush();
  }

  private async send(): Promise<void> {
    const now = Date.now();
    this.collector.collect(now);
    const minutes = this.collector.minutes();
    if (minutes.length === 0) return;
    try {
      await this.api.request(
        "POST",
        "/metrics/ingest",
        { service: this.opts.service, instance: this.opts.instance, minutes },
        10_000,
      );
      this.collector.acknowledge(
        minutes.map((m) => m.minute),
        now,
      );
      if (this.failures > 0)
        this.opts.log?.info({ minutes: minutes.length }, "metrics delivered again");
      this.failures = 0;
    } catch (e) {
      const err = e as { code?: string; message: string };
      if (err.code === "invalid_argument") {
        // The console stored the good points and named the bad ones: do not resend them.
        this.collector.acknowledge(
          minutes.map((m) => m.minute),
          now,
        );
        this.opts.log?.warn({ err: err.message }, "console refused some metric points");
        return;
      }
      this.failures++;
      if (this.failures === 1 || this.failures % 10 === 0) {
        this.opts.log?.warn(
          { err: err.message, pendingMinutes: this.collector.pendingMinutes },
          "cannot send metrics; keeping them",
        );
      }
    }
  }
}
