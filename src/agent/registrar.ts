import { isMsecError, MsecError } from "../core/errors.js";
import type { Logger } from "../core/log.js";
import type { HeartbeatResponse, InstanceHealth, Labels } from "../core/schemas/naming.js";
import type { ConsoleApi } from "../runtime/naming/console-api.js";

interface Entry {
  service: string;
  addr: string;
  weight: number;
  labels: Labels;
  health: InstanceHealth;
  /** Known to the name service (as far as we know). */
  registered: boolean;
}

export interface RegistrarOptions {
  api: ConsoleApi;
  log: Logger;
  /** TTL the instances register with (default 15 s). */
  ttlSeconds?: number;
  /** One heartbeat call for all instances this often (default 5 s). */
  intervalMs?: number;
}

const key = (service: string, addr: string) => `${service} ${addr}`;

/**
 * Keeps every instance the agent runs registered in the name service with one
 * heartbeat call for all of them; instances the console does not know (evicted
 * during an outage, or registered before a console restart lost them) are
 * registered again.
 */
export class InstancesRegistrar {
  private readonly entries = new Map<string, Entry>();
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  private readonly ttlSeconds: number;
  private readonly intervalMs: number;

  constructor(private readonly opts: RegistrarOptions) {
    this.ttlSeconds = opts.ttlSeconds ?? 15;
    this.intervalMs = opts.intervalMs ?? 5000;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.beat(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * Register now (the zero-drop order needs it done before the old instance goes),
   * retrying for up to `deadlineMs`; throws when the console would not take it.
   */
  async add(
    service: string,
    addr: string,
    weight: number,
    labels: Labels,
    // As long as artifact downloads wait: a console restart mid-deploy should not fail the change.
    deadlineMs = 60_000,
  ): Promise<void> {
    const e: Entry = { service, addr, weight, labels, health: "healthy", registered: false };
    this.entries.set(key(service, addr), e);
    const until = Date.now() + deadlineMs;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.register(e);
        return;
      } catch (err) {
        if (
          Date.now() + 500 > until ||
          (isMsecError(err) && err.status < 500 && err.status !== 429)
        ) {
          this.entries.delete(key(service, addr));
          throw new MsecError(
            "unavailable",
            `could not register ${service} ${addr} in the name service: ${(err as Error).message}`,
            { cause: err },
          );
        }
        await new Promise((r) => setTimeout(r, Math.min(2000, 250 * attempt)));
      }
    }
  }

  /** Track an instance registered by an earlier agent: heartbeats re-register it if needed. */
  keep(
    service: string,
    addr: string,
    weight: number,
    labels: Labels,
    health: InstanceHealth,
  ): void {
    this.entries.set(key(service, addr), {
      service,
      addr,
      weight,
      labels,
      health,
      registered: true,
    });
  }

  /** Deregister (best effort: a console that is down lets the TTL evict it). */
  async remove(service: string, addr: string): Promise<void> {
    this.entries.delete(key(service, addr));
    try {
      await this.opts.api.request(
        "DELETE",
        `/services/${encodeURIComponent(service)}/instances/${encodeURIComponent(addr)}`,
        undefined,
        3000,
      );
    } catch (err) {
      if (isMsecError(err) && err.code === "not_found") return;
      this.opts.log.warn(
        { service, addr, err: (err as Error).message },
        "could not deregister; the name service will evict it by TTL",
      );
    }
  }

  /** A new weight: registering again with it is how the name service learns it. */
  async setWeight(service: string, addr: string, weight: number): Promise<void> {
    const e = this.entries.get(key(service, addr));
    if (!e) return;
    e.weight = weight;
    await this.register(e);
  }

  setHealth(service: string, addr: string, health: InstanceHealth): void {
    const e = this.entries.get(key(service, addr));
    if (e) e.health = health;
  }

  has(service: string, addr: string): boolean {
    return this.entries.has(key(service, addr));
  }

  private async register(e: Entry): Promise<void> {
    await this.opts.api.request("POST", `/services/${encodeURIComponent(e.service)}/instances`, {
      addr: e.addr,
      weight: e.weight,
      labels: e.labels,
      ttlSeconds: this.ttlSeconds,
    });
    e.registered = true;
  }

  /** One call for every instance; re-register the ones the console does not know. */
  async beat(): Promise<void> {
    const all = [...this.entries.values()];
    if (all.length === 0) return;
    try {
      const r = (await this.opts.api.request("POST", "/naming/heartbeats", {
        beats: all.map((e) => ({ service: e.service, addr: e.addr, health: e.health })),
      })) as HeartbeatResponse;
      if (this.failures > 0) this.opts.log.info("name service reachable again");
      this.failures = 0;
      for (const u of r.unknown ?? []) {
        const e = this.entries.get(key(u.service, u.addr));
        if (!e) continue;
        e.registered = false;
        await this.register(e).catch((err: unknown) =>
          this.opts.log.warn(
            { service: e.service, addr: e.addr, err: (err as Error).message },
            "re-registration failed; will retry",
          ),
        );
      }
    } catch (err) {
      this.failures++;
      if (this.failures === 1 || this.failures % 12 === 0) {
        this.opts.log.warn(
          { err: (err as Error).message, failures: this.failures },
          "heartbeats failed; services keep serving",
        );
      }
    }
  }
}
