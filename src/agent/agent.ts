import { hostname } from "node:os";
import type { DesiredState, StateReport } from "../core/schemas/machine.js";
import { VERSION } from "../core/version.js";
import { rotateLogs } from "./logs.js";
import { reconcile } from "./reconcile.js";
import { ServiceUnit, type UnitDeps } from "./service.js";
import type { AgentState, StateFile } from "./state-file.js";

export interface AgentCoreDeps extends Omit<UnitDeps, "changed" | "stopping"> {
  stateFile: StateFile;
  /** Something the console should hear about changed. */
  reportChanged(): void;
}

/**
 * The agent's state machine: the desired state, one unit per service, and the
 * passes that bring the one to the other. A pass runs the actions of one desired
 * revision (services side by side) to the end; a revision that arrives meanwhile
 * gets the next pass. `appliedRevision` moves when a pass ends: every service of that
 * revision then runs healthy on the desired versions, or its change failed.
 */
export class AgentCore {
  private readonly units = new Map<string, ServiceUnit>();
  private desired: DesiredState | null = null;
  private applied = 0;
  private passing: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private restoring = false;

  constructor(private readonly deps: AgentCoreDeps) {}

  get appliedRevision(): number {
    return this.applied;
  }

  /** Take over what a previous agent on this root left: desired state and processes. */
  async restore(state: AgentState): Promise<void> {
    this.desired = state.desired;
    this.applied = state.appliedRevision;
    // Until every unit has taken its processes back, a write of state.json would lack
    // them: an agent killed then would lose track of processes that still serve.
    this.restoring = true;
    try {
      for (const [service, file] of Object.entries(state.services)) {
        const unit = this.unit(service);
        await unit.restore(file);
        if (unit.empty) this.units.delete(service);
      }
    } finally {
      this.restoring = false;
    }
    this.changed();
  }

  /** A new desired state from the console. */
  setDesired(d: DesiredState): void {
    this.desired = d;
    this.deps.log.info(
      { revision: d.revision, services: d.deployments.map((x) => x.service) },
      "desired state",
    );
    this.changed();
    this.kick();
  }

  /** Run a pass now (or after the one running). */
  kick(): void {
    if (this.stopped) return;
    if (this.passing) {
      this.again = true;
      return;
    }
    this.passing = (async () => {
      do {
        this.again = false;
        await this.pass().catch((e: unknown) =>
          this.deps.log.error({ err: (e as Error).message }, "reconcile pass failed"),
        );
      } while (this.again && !this.stopped);
    })().finally(() => {
      this.passing = undefined;
    });
  }

  /** Resolves when no pass runs (or after `ms`). */
  async idle(ms: number): Promise<void> {
    if (!this.passing) return;
    await Promise.race([this.passing, new Promise((r) => setTimeout(r, ms))]);
  }

  private async pass(): Promise<void> {
    const desired = this.desired;
    if (!desired) return;
    const actions = reconcile(
      desired,
      [...this.units.values()].map((u) => u.now()),
    );
    await Promise.all(
      actions.map(async (a) => {
        const unit = this.unit(a.service);
        await unit.apply(a, desired.revision);
        if (a.kind === "remove" && unit.empty) this.units.delete(a.service);
      }),
    );
    if (this.stopped) return;
    if (this.applied !== desired.revision) {
      this.applied = desired.revision;
      this.deps.log.info({ revision: desired.revision }, "desired revision applied");
    }
    this.changed();
  }

  buildReport(): StateReport {
    return {
      appliedRevision: this.applied,
      hostname: hostname().slice(0, 255),
      agentVersion: VERSION,
      services: [...this.units.values()]
        .sort((a, b) => a.service.localeCompare(b.service))
        .map((u) => u.report()),
    };
  }

  snapshot(): AgentState {
    const services: AgentState["services"] = {};
    for (const [name, unit] of this.units) services[name] = unit.toFile();
    return { version: 1, desired: this.desired, appliedRevision: this.applied, services };
  }

  /** Rotate every service's logs that grew past the limit. */
  async rotateLogs(maxBytes: number, keep: number): Promise<void> {
    for (const unit of this.units.values()) {
      await rotateLogs(unit.paths.logs, maxBytes, keep).catch((e: unknown) =>
        this.deps.log.warn(
          { service: unit.service, err: (e as Error).message },
          "log rotation failed",
        ),
      );
    }
  }

  /** Stop acting; leave the processes running (or stop them too). */
  async stop(opts: { stopServices?: boolean } = {}): Promise<void> {
    this.stopped = true;
    // A change in flight is recorded in state.json; the next start ends it cleanly.
    await this.idle(opts.stopServices ? 30_000 : 2000);
    if (opts.stopServices) {
      await Promise.all([...this.units.values()].map((u) => u.stopAll()));
    }
    for (const unit of this.units.values()) unit.detach();
    await this.persist();
  }

  persist(): Promise<void> {
    return this.deps.stateFile
      .save(() => this.snapshot())
      .catch((e: unknown) => {
        this.deps.log.error({ err: (e as Error).message }, "could not write state.json");
      });
  }

  private changed(): void {
    if (this.restoring) return;
    void this.persist();
    this.deps.reportChanged();
  }

  private unit(service: string): ServiceUnit {
    let unit = this.units.get(service);
    if (!unit) {
      unit = new ServiceUnit(service, {
        ...this.deps,
        changed: () => this.changed(),
        stopping: () => this.stopped,
      });
      this.units.set(service, unit);
    }
    return unit;
  }
}
