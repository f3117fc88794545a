import type { Deployment } from "../../core/schemas/machine.js";
import type { ReleaseStepView, ReleaseType, ReleaseView } from "../../core/schemas/release.js";
import { versionsOf } from "./model.js";
import type { PlanRecord } from "./repo.js";

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const versions = (d: Deployment | null) => (d === null ? null : versionsOf(d));

/** A plan as the API shows it; lists leave the steps out. */
export function toReleaseView(p: PlanRecord): ReleaseView {
  const steps: ReleaseStepView[] = p.steps.map((s) => ({
    id: s.id,
    batch: s.batch,
    machine: s.machineName,
    action: s.action,
    state: s.state,
    startedAt: new Date(s.startedAt).toISOString(),
    endedAt: iso(s.endedAt),
    error: s.error,
    from: versions(s.before),
    to: versions(s.after),
  }));
  return {
    id: p.id,
    service: p.service,
    type: p.type as ReleaseType,
    state: p.state,
    pausedFor: p.pausedFor,
    spec: p.spec,
    createdBy: p.createdBy,
    createdAt: new Date(p.createdAt).toISOString(),
    startedAt: iso(p.startedAt),
    endedAt: iso(p.endedAt),
    error: p.error,
    note: p.note,
    gateUntil: iso(p.progress.gate?.until ?? null),
    batches: p.progress.batches.map((b, index) => ({
      index,
      machines: b.machines.map((m) => m.name),
      phase: b.phase,
    })),
    steps,
  };
}
