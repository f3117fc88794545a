/**
 * The release state machine, pure: plain data in, a decision out; time is passed in.
 *
 * - {@link advance}: what the executor does next for a plan, from the agents' last
 *   reports (`observations`) and the clock: wait, record finished steps, start a
 *   batch, start or pass a health gate, roll back a failed batch, start a full
 *   rollback, succeed, or end.
 * - {@link settle}: the plan row a decision leaves behind (state, progress, error).
 * - `act` (actions.ts): an operator's action (execute, pause, resume, abort, rollback).
 *
 * The executor stores every result in the database before it acts on the next, so a
 * console restarted after a crash picks up from the stored plan and reports alone.
 *
 * ```ts
 * const d = advance(plan, observations, now);   // e.g. { kind: "start-batch", batch: 1, ... }
 * const patch = settle(plan, d, now, insertedStepIds);
 * ```
 *
 * States: draft ─execute→ running ─(last gate passes)→ succeeded
 *   running ⇄ paused (pause / resume; a gate with approval pauses by itself)
 *   running ─(a step or gate fails)→ rolling_back (that batch) → failed
 *   draft | running | paused ─abort→ aborted
 *   succeeded | failed | aborted | paused ─rollback→ rolling_back (every machine) → rolled_back | failed
 */
import type { Deployment } from "../../core/schemas/machine.js";
import { DEFAULT_WEIGHT } from "../../core/schemas/naming.js";
import type { ReleaseState } from "../../core/schemas/release.js";
import {
  formatVersions,
  type MachineRef,
  type Observation,
  type Observations,
  type PausedFor,
  type Plan,
  type Progress,
  type Step,
  sameVersions,
  versionsOf,
} from "./model.js";

/** A report older than this says nothing about the machine's health now. */
export const STALE_REPORT_MS = 30_000;

export interface StepEnd {
  stepId: number;
  state: "succeeded" | "failed";
  error: string | null;
}

/** Set one machine back to a deployment (null: remove the service). */
export interface RollbackMove {
  machine: MachineRef;
  batch: number;
  to: Deployment | null;
}

export type Decision =
  | { kind: "wait" }
  /** Record steps that finished (or failed, or timed out). */
  | { kind: "finish-steps"; ends: StepEnd[] }
  /** Write the new deployment of every machine of the batch, one step each. */
  | { kind: "start-batch"; batch: number; machines: MachineRef[]; weight: number }
  | { kind: "start-gate"; batch: number; until: number; restarts: Record<string, number> }
  /** The gate held: the batch is done (or waits for approval). */
  | { kind: "pass-gate"; batch: number; approval: boolean }
  /** A step or the gate failed: end its steps in flight, set its machines back. */
  | {
      kind: "rollback-batch";
      batch: number;
      error: string;
      cancel: StepEnd[];
      moves: RollbackMove[];
    }
  /** An operator's rollback: set every machine the plan touched back to what it had. */
  | { kind: "start-rollback"; cancel: StepEnd[]; moves: RollbackMove[] }
  /** The last gate held: full weight for every machine, and done. */
  | { kind: "succeed"; machines: MachineRef[] }
  /** A rollback finished: `rolledBack` are the batches now back on their old versions. */
  | { kind: "end"; state: "failed" | "rolled_back"; error: string | null; rolledBack: number[] };

export type DecisionKind = Decision["kind"];

const WAIT: Decision = { kind: "wait" };

// Steps.

/**
 * Whether a running step has finished, from its machine's last report. `watchingSince`:
 * when this executor began (took the lease); time before it, while no console watched,
 * does not count against the timeout.
 */
export function judgeStep(
  step: Step,
  o: Observation | undefined,
  service: string,
  timeoutSeconds: number,
  now: number,
  watchingSince = Number.NEGATIVE_INFINITY,
): StepEnd | null {
  if (step.state !== "running") return null;
  const fail = (error: string): StepEnd => ({ stepId: step.id, state: "failed", error });
  if (!o) return fail("the machine is no longer enrolled");
  let waitingFor = `applied revision ${o.appliedRevision} of ${step.revision}`;
  if (o.appliedRevision >= step.revision) {
    const svc = o.services.find((s) => s.service === service);
    if (step.after === null) {
      if (!svc?.running) return { stepId: step.id, state: "succeeded", error: null };
      waitingFor = "the old process still runs";
    } else {
      const want = versionsOf(step.after);
      if (svc?.target?.phase === "failed" && sameVersions(svc.target.versions, want))
        return fail(svc.target.error ?? "the agent could not deploy it");
      const r = svc?.running;
      if (r && svc.target === null && sameVersions(r.versions, want)) {
        if (r.state === "healthy") return { stepId: step.id, state: "succeeded", error: null };
        // The agent is done with the change and the new process died: no use waiting.
        if (r.state === "crashed") return fail("the new instance crashed");
      }
      waitingFor = r
        ? `it runs ${formatVersions(r.versions)}, ${r.state}${svc.target ? `, ${svc.target.phase}` : ""}`
        : "no process runs";
    }
  }
  if (now - Math.max(step.startedAt, watchingSince) >= timeoutSeconds * 1000)
    return fail(`timed out after ${timeoutSeconds}s (${waitingFor})`);
  return null;
}

const cancelled = (steps: readonly Step[], why: string): StepEnd[] =>
  steps
    .filter((s) => s.state === "running")
    .map((s) => ({ stepId: s.id, state: "failed", error: `cancelled: ${why}` }));

const deploySteps = (plan: Plan, batch: number) =>
  plan.steps.filter((s) => s.action === "deploy" && s.batch === batch);

const describeFailures = (steps: readonly Step[]) =>
  steps.map((s) => `${s.machineName}: ${s.error ?? "failed"}`).join("; ");

/** Every machine the plan deployed to, with what it had before the plan's first step there. */
export function touchedMoves(plan: Plan): RollbackMove[] {
  const first = new Map<number, Step>();
  for (const s of [...plan.steps].sort((a, b) => a.id - b.id))
    if (s.action === "deploy" && !first.has(s.machineId)) first.set(s.machineId, s);
  return [...first.values()].map((s) => ({
    machine: { id: s.machineId, name: s.machineName },
    batch: s.batch,
    to: s.before,
  }));
}

// The health gate.

/** What is wrong with a batch's instances now; empty when all run healthy on the new versions. */
export function gateProblems(
  plan: Plan,
  batch: number,
  obs: Observations,
  restartsAtStart: Record<string, number>,
  now: number,
  watchingSince = Number.NEGATIVE_INFINITY,
): string[] {
  const problems: string[] = [];
  for (const step of deploySteps(plan, batch)) {
    const m = step.machineName;
    const o = obs.get(step.machineId);
    const r = o?.services.find((s) => s.service === plan.service)?.running;
    if (!o) problems.push(`${m}: the machine is no longer enrolled`);
    // Agents cannot report while no console runs: their silence counts from our start.
    else if (
      now - Math.max(o.lastSeenAt ?? Number.NEGATIVE_INFINITY, watchingSince) >
      STALE_REPORT_MS
    )
      problems.push(`${m}: no report from its agent for ${STALE_REPORT_MS / 1000}s`);
    else if (!r) problems.push(`${m}: no process runs`);
    else if (step.after && !sameVersions(r.versions, versionsOf(step.after)))
      problems.push(`${m}: runs ${formatVersions(r.versions)}`);
    else if (r.state !== "healthy") problems.push(`${m}: the instance is ${r.state}`);
    else if (r.restarts > (restartsAtStart[String(step.machineId)] ?? 0))
      problems.push(`${m}: the instance restarted during the health gate`);
  }
  return problems;
}

function restartsOf(plan: Plan, machines: readonly MachineRef[], obs: Observations) {
  const out: Record<string, number> = {};
  for (const m of machines) {
    const r = obs.get(m.id)?.services.find((s) => s.service === plan.service)?.running;
    out[String(m.id)] = r?.restarts ?? 0;
  }
  return out;
}

// Advance.

/**
 * The next decision for a plan. `watchingSince`: when the executor took the lease (after
 * a console restart, timeouts and agent silence count from then).
 */
export function advance(
  plan: Plan,
  obs: Observations,
  now: number,
  watchingSince = Number.NEGATIVE_INFINITY,
): Decision {
  const ends: StepEnd[] = [];
  for (const s of plan.steps) {
    const end = judgeStep(
      s,
      obs.get(s.machineId),
      plan.service,
      plan.spec.deployTimeoutSeconds,
      now,
      watchingSince,
    );
    if (end) ends.push(end);
  }
  // Steps in flight are watched in every state: an abort or a pause leaves them to finish.
  if (ends.length > 0) return { kind: "finish-steps", ends };
  if (plan.state === "running") return advanceRunning(plan, obs, now, watchingSince);
  if (plan.state === "rolling_back") return advanceRollback(plan);
  return WAIT;
}

function rollbackBatch(plan: Plan, batch: number, error: string): Decision {
  const steps = deploySteps(plan, batch);
  return {
    kind: "rollback-batch",
    batch,
    error,
    cancel: cancelled(steps, "the batch is rolled back"),
    moves: steps.map((s) => ({
      machine: { id: s.machineId, name: s.machineName },
      batch,
      to: s.before,
    })),
  };
}

function advanceRunning(
  plan: Plan,
  obs: Observations,
  now: number,
  watchingSince: number,
): Decision {
  const p = plan.progress;
  const last = p.batches.length - 1;
  const c = p.current;
  const batch = p.batches[c];
  if (!batch || batch.phase === "done" || batch.phase === "approval") {
    if (batch?.phase === "approval") return { kind: "pass-gate", batch: c, approval: false };
    const next = c + 1;
    const nb = p.batches[next];
    if (!nb) return { kind: "succeed", machines: p.batches.flatMap((b) => b.machines) };
    const weight = next === last ? DEFAULT_WEIGHT : (plan.spec.canaryWeight ?? DEFAULT_WEIGHT);
    return { kind: "start-batch", batch: next, machines: nb.machines, weight };
  }
  if (batch.phase === "deploying") {
    const steps = deploySteps(plan, c);
    const failed = steps.filter((s) => s.state === "failed");
    if (failed.length > 0) return rollbackBatch(plan, c, describeFailures(failed));
    if (steps.some((s) => s.state === "running")) return WAIT;
    return {
      kind: "start-gate",
      batch: c,
      until: now + plan.spec.gate.healthSeconds * 1000,
      restarts: restartsOf(plan, batch.machines, obs),
    };
  }
  if (batch.phase === "gate") {
    const gate = p.gate ?? { until: now, restarts: {} };
    const problems = gateProblems(plan, c, obs, gate.restarts, now, watchingSince);
    if (problems.length > 0)
      return rollbackBatch(plan, c, `health gate failed: ${problems.join("; ")}`);
    if (now < gate.until) return WAIT;
    // Pass on evidence only: after a console restart, wait for the agents' first reports.
    const fresh = (m: MachineRef) => {
      const seen = obs.get(m.id)?.lastSeenAt;
      return seen != null && now - seen <= STALE_REPORT_MS;
    };
    if (!batch.machines.every(fresh)) return WAIT;
    if (c === last) return { kind: "succeed", machines: p.batches.flatMap((b) => b.machines) };
    return { kind: "pass-gate", batch: c, approval: plan.spec.gate.approval };
  }
  // pending, failed, rolled_back: not a phase a running plan's current batch has.
  return WAIT;
}

function advanceRollback(plan: Plan): Decision {
  const rb = plan.progress.rollback ?? { scope: "plan" as const, steps: null };
  if (rb.steps === null) {
    return {
      kind: "start-rollback",
      cancel: cancelled(plan.steps, "the plan is rolled back"),
      moves: touchedMoves(plan),
    };
  }
  const ids = new Set(rb.steps);
  const steps = plan.steps.filter((s) => ids.has(s.id));
  if (steps.some((s) => s.state === "running")) return WAIT;
  const failed = steps.filter((s) => s.state === "failed");
  const why = describeFailures(failed);
  if (rb.scope === "batch") {
    const error = plan.error ?? "the batch failed";
    return failed.length > 0
      ? { kind: "end", state: "failed", error: `${error}; rollback failed: ${why}`, rolledBack: [] }
      : { kind: "end", state: "failed", error, rolledBack: [plan.progress.current] };
  }
  if (failed.length > 0)
    return { kind: "end", state: "failed", error: `rollback failed: ${why}`, rolledBack: [] };
  const touched = new Set(steps.map((s) => s.batch));
  return {
    kind: "end",
    state: "rolled_back",
    error: plan.error,
    rolledBack: plan.progress.batches.flatMap((_, i) => (touched.has(i) ? [i] : [])),
  };
}

// Settle: the plan row after a decision.

export interface PlanPatch {
  state: ReleaseState;
  pausedFor: PausedFor | null;
  progress: Progress;
  error: string | null;
  /** Set when present. */
  startedAt?: number;
  /** Set when present (null clears it). */
  endedAt?: number | null;
}

export function withPhase(p: Progress, index: number, phase: Progress["batches"][number]["phase"]) {
  return p.batches.map((b, i) => (i === index ? { ...b, phase } : b));
}

/**
 * The plan row after a decision has been applied; `stepIds` are the ids of the steps
 * it inserted (a rollback keeps them to know when it is over). Null: nothing to write.
 */
export function settle(
  plan: Plan,
  d: Decision,
  now: number,
  stepIds: readonly number[] = [],
): PlanPatch | null {
  const p = plan.progress;
  const same: PlanPatch = {
    state: plan.state,
    pausedFor: plan.pausedFor,
    progress: p,
    error: plan.error,
  };
  switch (d.kind) {
    case "wait":
      return null;
    case "finish-steps":
      return same;
    case "start-batch":
      return {
        ...same,
        progress: {
          ...p,
          current: d.batch,
          gate: null,
          batches: withPhase(p, d.batch, "deploying"),
        },
      };
    case "start-gate":
      return {
        ...same,
        progress: {
          ...p,
          gate: { until: d.until, restarts: d.restarts },
          batches: withPhase(p, d.batch, "gate"),
        },
      };
    case "pass-gate": {
      const progress = {
        ...p,
        gate: null,
        batches: withPhase(p, d.batch, d.approval ? "approval" : "done"),
      };
      return d.approval
        ? { ...same, state: "paused", pausedFor: "approval", progress }
        : { ...same, progress };
    }
    case "rollback-batch":
      return {
        ...same,
        state: "rolling_back",
        pausedFor: null,
        error: d.error,
        progress: {
          ...p,
          gate: null,
          batches: withPhase(p, d.batch, "failed"),
          rollback: { scope: "batch", steps: [...stepIds] },
        },
      };
    case "start-rollback":
      return {
        ...same,
        progress: { ...p, gate: null, rollback: { scope: "plan", steps: [...stepIds] } },
      };
    case "succeed":
      return {
        ...same,
        state: "succeeded",
        pausedFor: null,
        endedAt: now,
        progress: { ...p, gate: null, batches: p.batches.map((b) => ({ ...b, phase: "done" })) },
      };
    case "end": {
      const back = new Set(d.rolledBack);
      return {
        ...same,
        state: d.state,
        pausedFor: null,
        error: d.error,
        endedAt: now,
        progress: {
          ...p,
          gate: null,
          rollback: null,
          batches: p.batches.map((b, i) => (back.has(i) ? { ...b, phase: "rolled_back" } : b)),
        },
      };
    }
  }
}
