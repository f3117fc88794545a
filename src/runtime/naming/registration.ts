import { MsecError } from "../../core/errors.js";
import type { Logger } from "../../core/log.js";
import type { InstanceHealth, Labels } from "../../core/schemas/naming.js";
import { ConsoleApi } from "./console-api.js";

export interface RegistrationOptions {
  /** Console URL (default MSEC_CONSOLE). */
  console?: string;
  /** API token with the operator role (default MSEC_TOKEN). */
  token?: string;
  service: string;
  addr: string;
  weight?: number;
  labels?: Labels;
  /** Seconds without a heartbeat before the name service may evict us (default 15). */
  ttlSeconds?: number;
  log?: Logger;
}

/**
 * Keeps one instance registered: registers, heartbeats every third of the TTL,
 * re-registers when the console has forgotten it, and rides out console outages
 * (the service keeps serving; clients route from their caches).
 */
export class Registration {
  private timer: NodeJS.Timeout | undefined;
  private registered = false;
  private stopped = false;
  private failures = 0;
  private health: InstanceHealth = "healthy";
  private readonly api: ConsoleApi;
  private readonly ttlSeconds: number;

  constructor(private readonly opts: RegistrationOptions) {
    const url = opts.console ?? process.env.MSEC_CONSOLE;
    if (!url)
      throw new MsecError("invalid_argument", "no console URL to register with (set MSEC_CONSOLE)");
    this.api = new ConsoleApi(url, opts.token ?? process.env.MSEC_TOKEN);
    this.ttlSeconds = opts.ttlSeconds ?? (Number(process.env.MSEC_TTL_SECONDS) || 15);
  }

  start(): void {
    void this.tick();
  }

  setHealth(health: InstanceHealth): void {
    this.health = health;
  }

  /** Deregister (best effort: a console that is down will evict us by TTL). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    try {
      await this.api.request(
        "DELETE",
        `/services/${encodeURIComponent(this.opts.service)}/instances/${encodeURIComponent(this.opts.addr)}`,
        undefined,
        2000,
      );
    } catch (e) {
      this.opts.log?.warn(
        { err: (e as Error).message },
        "could not deregister; the name service will evict by TTL",
      );
    }
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    try {
      if (!this.registered) {
        await this.api.request(
          "POST",
          `/services/${encodeURIComponent(this.opts.service)}/instances`,
          {
            addr: this.opts.addr,
            weight: this.opts.weight ?? (Number(process.env.MSEC_WEIGHT) || 100),
            labels: this.opts.labels ?? labelsFromEnv(process.env.MSEC_LABELS),
            ttlSeconds: this.ttlSeconds,
          },
        );
        this.registered = true;
        this.opts.log?.info(
          { service: this.opts.service, addr: this.opts.addr },
          "registered with the name service",
        );
      } else {
        const r = (await this.api.request("POST", "/naming/heartbeats", {
          beats: [{ service: this.opts.service, addr: this.opts.addr, health: this.health }],
        })) as { unknown: unknown[] };
        if (r.unknown.length > 0) {
          this.registered = false;
          this.failures = 0;
          return this.tick();
        }
      }
      if (this.failures > 0) this.opts.log?.info("name service reachable again");
      this.failures = 0;
    } catch (e) {
      this.failures++;
      const err = e as MsecError;
      if (this.failures === 1 || this.failures % 10 === 0) {
        this.opts.log?.warn(
          { err: err.message, failures: this.failures },
          "name service unreachable; still serving",
        );
      }
      // Refused credentials will not get better by retrying fast.
      if (err.code === "unauthenticated" || err.code === "permission_denied")
        this.failures = Math.max(this.failures, 6);
    }
    if (this.stopped) return;
    const interval = (this.ttlSeconds * 1000) / 3;
    const delay =
      this.failures === 0 ? interval : Math.min(interval, 250 * 2 ** Math.min(this.failures, 6));
    this.timer = setTimeout(() => void this.tick(), delay);
    this.timer.unref();
  }
}

/** `MSEC_LABELS=version=1.4.2,zone=sz` (set by the agent for the instances it runs). */
export function labelsFromEnv(text: string | undefined): Labels {
  const labels: Record<string, string> = {};
  for (const pair of (text ?? "").split(",")) {
    const i = pair.indexOf("=");
    if (i > 0) labels[pair.slice(0, i).trim()] = pair.slice(i + 1).trim();
  }
  return labels;
}
