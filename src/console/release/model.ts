/**
 * The plain data the release state machine works on: a plan with its progress and
 * steps, and what the agents last reported of their machines. No I/O here; the repo
 * turns rows into these and back.
 */
import { z } from "zod";
import type { Deployment, RunningVersions, ServiceReport } from "../../core/schemas/machine.js";
import type { ReleaseBatchView, ReleaseSpec, ReleaseState } from "../../core/schemas/release.js";

export interface MachineRef {
  id: number;
  name: string;
}

export type BatchPhase = ReleaseBatchView["phase"];

const MachineRefSchema = z.object({ id: z.number().int(), name: z.string() });

/** Where a running plan stands; stored as JSON in `release_plans.progress`. */
export const Progress = z.object({
  /** Fixed at execute: the machines of each batch, in order. */
  batches: z.array(
    z.object({
      machines: z.array(MachineRefSchema),
      phase: z.enum(["pending", "deploying", "gate", "approval", "done", "failed", "rolled_back"]),
    }),
  ),
  /** The batch in work (or last worked on); -1 before the first starts. */
  current: z.number().int(),
  /** The current batch's health gate: passes at `until` (epoch ms) if nothing broke. */
  gate: z
    .object({
      until: z.number(),
      /** Restart counters per machine id when the gate began: they must not grow. */
      restarts: z.record(z.string(), z.number()),
    })
    .nullable(),
  /**
   * A rollback in progress: of the failed batch (automatic) or of the whole plan (an
   * operator's). `steps` are its step ids once written; null until the executor starts it.
   */
  rollback: z
    .object({
      scope: z.enum(["batch", "plan"]),
      steps: z.array(z.number().int()).nullable(),
    })
    .nullable(),
});
export type Progress = z.infer<typeof Progress>;

export const EMPTY_PROGRESS: Progress = { batches: [], current: -1, gate: null, rollback: null };

export type StepAction = "deploy" | "rollback";
export type StepState = "running" | "succeeded" | "failed";

/** One machine's move within a plan. */
export interface Step {
  id: number;
  batch: number;
  machineId: number;
  machineName: string;
  action: StepAction;
  state: StepState;
  /** What the machine had before the step (null: the service was not there). */
  before: Deployment | null;
  /** What the step set (null: the service is removed). */
  after: Deployment | null;
  /** The machine's desired revision the step wrote. */
  revision: number;
  startedAt: number;
  endedAt: number | null;
  error: string | null;
}

export type PausedFor = "operator" | "approval";

export interface Plan {
  id: number;
  service: string;
  state: ReleaseState;
  pausedFor: PausedFor | null;
  spec: ReleaseSpec;
  progress: Progress;
  /** Every step, oldest first. */
  steps: Step[];
  error: string | null;
}

/** What an agent last said of its machine (the executor's only source of truth). */
export interface Observation {
  id: number;
  name: string;
  appliedRevision: number;
  lastSeenAt: number | null;
  services: ServiceReport[];
}

export type Observations = ReadonlyMap<number, Observation>;

export function versionsOf(d: Deployment): RunningVersions {
  return {
    package: d.package.version,
    configs: d.configs.map((c) => c.version),
    libs: d.libs.map((l) => l.version),
    plugins: d.plugins.map((p) => p.version),
  };
}

const sorted = (xs: readonly number[]) => [...xs].sort((a, b) => a - b).join(",");

/** Same versions of every part (the order the agent lists them in does not matter). */
export function sameVersions(a: RunningVersions, b: RunningVersions): boolean {
  return (
    a.package === b.package &&
    sorted(a.configs) === sorted(b.configs) &&
    sorted(a.libs) === sorted(b.libs) &&
    sorted(a.plugins) === sorted(b.plugins)
  );
}

export function formatVersions(v: RunningVersions): string {
  const parts = [`package ${v.package}`];
  if (v.configs.length) parts.push(`configs ${v.configs.join(",")}`);
  if (v.libs.length) parts.push(`libs ${v.libs.join(",")}`);
  if (v.plugins.length) parts.push(`plugins ${v.plugins.join(",")}`);
  return parts.join(" ");
}

/** States a plan leaves only by an operator's action (or never). */
export const SETTLED_STATES: readonly ReleaseState[] = [
  "draft",
  "succeeded",
  "failed",
  "aborted",
  "rolled_back",
];
