/**
 * Test fixtures for release plans (not part of the build): artifact refs, specs, and a
 * pure in-memory world — deployments, revisions and agents — that applies decisions the
 * way apply.ts does against the store, so whole plans run without a database.
 */
import type { ArtifactRef, Deployment, ServiceReport } from "../../core/schemas/machine.js";
import type { ReleaseSpec } from "../../core/schemas/release.js";
import { type ActInput, act } from "./actions.js";
import {
  EMPTY_PROGRESS,
  type MachineRef,
  type Observation,
  type Plan,
  versionsOf,
} from "./model.js";
import { advance, type Decision, settle } from "./plan.js";
import { nextDeployment } from "./targets.js";

export const SERVICE = "Demo.Echo";
export const T0 = Date.UTC(2026, 2, 10, 12, 0);

export function ref(version: number, name: string | null = null): ArtifactRef {
  return { version, sha256: "a".repeat(64), signature: `sig-${version}`, name };
}

export function deployment(pkg: number, more: Partial<Deployment> = {}): Deployment {
  return {
    service: SERVICE,
    package: ref(pkg),
    configs: [],
    libs: [],
    plugins: [],
    weight: 100,
    ...more,
  };
}

export function spec(over: Partial<ReleaseSpec> = {}): ReleaseSpec {
  return {
    service: SERVICE,
    targets: { kind: "percent", percent: 100 },
    type: "code",
    versions: { package: 2 },
    batches: [{ rest: true }],
    gate: { healthSeconds: 10, approval: false },
    deployTimeoutSeconds: 60,
    note: "",
    artifacts: { package: ref(2) },
    ...over,
  };
}

export const machines = (n: number): MachineRef[] =>
  Array.from({ length: n }, (_, i) => ({ id: i + 1, name: `m${i + 1}` }));

/** How a fake agent answers its desired deployment: the service report it sends, or none. */
export type Agent = (
  desired: Deployment | null,
  last: ServiceReport | undefined,
) => ServiceReport | undefined;

const running = (d: Deployment, restarts = 0): ServiceReport["running"] => ({
  versions: versionsOf(d),
  state: "healthy",
  pid: 100,
  addr: "10.0.0.1:8080",
  restarts,
  since: new Date(T0).toISOString(),
});

/** Runs whatever it is asked to, healthy. */
export const healthyAgent: Agent = (d) =>
  d === null ? undefined : { service: d.service, running: running(d), target: null };

/** Fails to start a given package version: keeps the old process and reports the failure. */
export const failingAgent =
  (badPackage: number): Agent =>
  (d, last) => {
    if (d === null) return undefined;
    if (d.package.version !== badPackage) return healthyAgent(d, last);
    return {
      service: d.service,
      running: last?.running ?? null,
      target: { versions: versionsOf(d), phase: "failed", error: "health check failed" },
    };
  };

export class World {
  readonly deployments = new Map<number, Deployment | null>();
  readonly desired = new Map<number, number>();
  readonly obs = new Map<number, Observation>();
  readonly agents = new Map<number, Agent>();
  readonly decisions: Decision[] = [];
  plan: Plan;
  now = T0;
  private nextStep = 1;

  constructor(
    readonly fleet: MachineRef[],
    planSpec: ReleaseSpec,
    initial: (m: MachineRef) => Deployment | null = () => deployment(1),
  ) {
    for (const m of fleet) {
      this.deployments.set(m.id, initial(m));
      this.desired.set(m.id, 1);
      this.agents.set(m.id, healthyAgent);
      this.obs.set(m.id, {
        id: m.id,
        name: m.name,
        appliedRevision: 0,
        lastSeenAt: null,
        services: [],
      });
      this.report(m.id);
    }
    this.plan = {
      id: 1,
      service: SERVICE,
      state: "draft",
      pausedFor: null,
      spec: planSpec,
      progress: EMPTY_PROGRESS,
      steps: [],
      error: null,
    };
  }

  /** The machine's agent catches up with its desired state and reports. */
  report(id: number): void {
    const o = this.obs.get(id);
    if (!o) return;
    const last = o.services.find((s) => s.service === SERVICE);
    const svc = (this.agents.get(id) ?? healthyAgent)(this.deployments.get(id) ?? null, last);
    this.obs.set(id, {
      ...o,
      appliedRevision: this.desired.get(id) ?? 0,
      lastSeenAt: this.now,
      services: svc ? [svc] : [],
    });
  }

  reportAll(): void {
    for (const m of this.fleet) this.report(m.id);
  }

  /** An operator's action; throws with act()'s message when it is refused. */
  act(input: ActInput): void {
    const r = act(this.plan, input, this.now);
    if (!r.ok) throw new Error(r.message);
    this.plan = {
      ...this.plan,
      state: r.patch.state,
      pausedFor: r.patch.pausedFor,
      progress: r.patch.progress,
      error: r.patch.error,
    };
  }

  execute(batches: MachineRef[][] = [this.fleet]): void {
    this.act({ action: "execute", batches });
  }

  private set(m: MachineRef, to: Deployment | null): number {
    this.deployments.set(m.id, to);
    const rev = (this.desired.get(m.id) ?? 0) + 1;
    this.desired.set(m.id, rev);
    return rev;
  }

  private addStep(
    s: Omit<Plan["steps"][number], "id" | "startedAt" | "endedAt" | "error" | "state">,
  ): number {
    const id = this.nextStep++;
    this.plan.steps.push({
      ...s,
      id,
      state: "running",
      startedAt: this.now,
      endedAt: null,
      error: null,
    });
    return id;
  }

  /** What apply.ts does in its transaction. */
  apply(d: Decision): void {
    const ids: number[] = [];
    const p = this.plan;
    const end = (
      ends: { stepId: number; state: "succeeded" | "failed"; error: string | null }[],
    ) => {
      for (const e of ends) {
        const s = p.steps.find((x) => x.id === e.stepId);
        if (s && s.state === "running")
          Object.assign(s, { state: e.state, error: e.error, endedAt: this.now });
      }
    };
    if (d.kind === "finish-steps") end(d.ends);
    if (d.kind === "start-batch") {
      for (const m of d.machines) {
        const before = this.deployments.get(m.id) ?? null;
        const next = nextDeployment(before, p.spec, d.weight);
        if (!next.ok) throw new Error(next.error);
        const revision = this.set(m, next.deployment);
        ids.push(
          this.addStep({
            batch: d.batch,
            machineId: m.id,
            machineName: m.name,
            action: "deploy",
            before,
            after: next.deployment,
            revision,
          }),
        );
      }
    }
    if (d.kind === "rollback-batch" || d.kind === "start-rollback") {
      end(d.cancel);
      for (const mv of d.moves) {
        const before = this.deployments.get(mv.machine.id) ?? null;
        const revision = this.set(mv.machine, mv.to);
        ids.push(
          this.addStep({
            batch: mv.batch,
            machineId: mv.machine.id,
            machineName: mv.machine.name,
            action: "rollback",
            before,
            after: mv.to,
            revision,
          }),
        );
      }
    }
    if (d.kind === "succeed") {
      for (const m of d.machines) {
        const cur = this.deployments.get(m.id);
        if (cur && cur.weight !== 100) this.set(m, { ...cur, weight: 100 });
      }
    }
    const patch = settle(p, d, this.now, ids);
    if (patch)
      this.plan = {
        ...p,
        state: patch.state,
        pausedFor: patch.pausedFor,
        progress: patch.progress,
        error: patch.error,
      };
  }

  /** Decide and apply until the executor would wait; returns the decisions' kinds. */
  run(max = 50): string[] {
    const kinds: string[] = [];
    for (let i = 0; i < max; i++) {
      const d = advance(this.plan, this.obs, this.now);
      if (d.kind === "wait") break;
      this.decisions.push(d);
      kinds.push(d.kind);
      this.apply(d);
    }
    return kinds;
  }

  /** Let time pass: agents report, the executor runs. */
  tick(ms: number): string[] {
    this.now += ms;
    this.reportAll();
    return this.run();
  }

  /** Ticks of `ms` until the plan is in one of `states` (at most `limit` ticks). */
  until(states: readonly Plan["state"][], ms = 1000, limit = 500): void {
    for (let i = 0; i < limit && !states.includes(this.plan.state); i++) this.tick(ms);
    if (!states.includes(this.plan.state))
      throw new Error(`plan still ${this.plan.state} (wanted ${states.join("|")})`);
  }

  packageOn(id: number): number | null {
    return this.deployments.get(id)?.package.version ?? null;
  }
}
