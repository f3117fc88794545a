import { z } from "zod";
import { RELEASE_ACTIONS, RELEASE_STATES } from "../release-actions.js";
import { Timestamp } from "./common.js";
import { ArtifactRef, MachineName } from "./machine.js";
import { Labels, ServiceName, Weight } from "./naming.js";

/**
 * Release plans (MSEC's 制定发布计划 and 运维->发布): which machines of a service get
 * which artifact versions, in which batches, with which gate after each batch.
 */

/** Which machines a plan touches. */
export const ReleaseTargets = z.discriminatedUnion("kind", [
  /** Named machines (also how a service first lands on machines). */
  z.object({ kind: z.literal("machines"), machines: z.array(MachineName).min(1).max(10_000) }),
  /** A percentage of the machines that run the service now (rounded up, at least one). */
  z.object({ kind: z.literal("percent"), percent: z.number().int().min(1).max(100) }),
  /** Machines whose labels include all of these. */
  z.object({
    kind: z.literal("labels"),
    labels: Labels.refine((l) => Object.keys(l).length > 0, "name at least one label"),
  }),
]);
export type ReleaseTargets = z.infer<typeof ReleaseTargets>;

/** What a plan changes: everything, the code, the config files, or libraries/plugins. */
export const ReleaseType = z.enum(["full", "code", "config", "libs"]);
export type ReleaseType = z.infer<typeof ReleaseType>;

const VersionList = z.array(z.number().int().positive()).max(100);

export const ReleaseVersions = z.object({
  package: z.number().int().positive().optional(),
  configs: VersionList.optional(),
  libs: VersionList.optional(),
  plugins: VersionList.optional(),
});
export type ReleaseVersions = z.infer<typeof ReleaseVersions>;

/** What must hold after a batch before the next one starts. */
export const ReleaseGate = z.object({
  /** Every instance of the batch healthy for this long (seconds). */
  healthSeconds: z.number().int().min(0).max(3600).default(10),
  /** Wait for an operator's `resume` after the batch. */
  approval: z.boolean().default(false),
});
export type ReleaseGate = z.infer<typeof ReleaseGate>;

/** One batch's size: a number of machines, a percentage of the targets, or the rest. */
export const BatchSize = z.union([
  z.object({ machines: z.number().int().min(1) }),
  z.object({ percent: z.number().int().min(1).max(100) }),
  z.object({ rest: z.literal(true) }),
]);
export type BatchSize = z.infer<typeof BatchSize>;

/** The parts of a deployment each release type may change. */
export const RELEASE_PARTS: Record<ReleaseType, readonly (keyof ReleaseVersions)[]> = {
  full: ["package", "configs", "libs", "plugins"],
  code: ["package"],
  config: ["configs"],
  libs: ["libs", "plugins"],
};

const ReleaseFields = z.object({
  service: ServiceName,
  targets: ReleaseTargets,
  type: ReleaseType,
  versions: ReleaseVersions,
  /** Default: one batch with every target. */
  batches: z
    .array(BatchSize)
    .min(1)
    .max(100)
    .default([{ rest: true }]),
  gate: ReleaseGate.default({ healthSeconds: 10, approval: false }),
  /** Weight of the instances a plan has moved, until the plan succeeds (default: full). */
  canaryWeight: Weight.optional(),
  /** Longest a machine may take to run the new versions healthy (seconds). */
  deployTimeoutSeconds: z.number().int().min(5).max(3600).default(120),
  note: z.string().max(1000).default(""),
});

export const CreateReleaseRequest = ReleaseFields.superRefine((r, ctx) => {
  const v = r.versions;
  const need = (ok: boolean, path: string, message: string) => {
    if (!ok) ctx.addIssue({ code: "custom", path: ["versions", path], message });
  };
  if (r.type === "full" || r.type === "code")
    need(v.package !== undefined, "package", `a ${r.type} release needs a package version`);
  if (r.type === "config")
    need((v.configs?.length ?? 0) > 0, "configs", "a config release needs config versions");
  if (r.type === "libs")
    need(
      (v.libs?.length ?? 0) + (v.plugins?.length ?? 0) > 0,
      "libs",
      "a libs release needs library or plugin versions",
    );
  // A part the release type does not change would be silently ignored: refuse it instead.
  for (const part of ["package", "configs", "libs", "plugins"] as const) {
    if (v[part] !== undefined && !RELEASE_PARTS[r.type].includes(part))
      need(false, part, `a ${r.type} release does not change ${part}`);
  }
});
export type CreateReleaseRequest = z.infer<typeof CreateReleaseRequest>;

/** The artifact versions of a plan, resolved at creation to signed refs (what agents get). */
export const ResolvedArtifacts = z.object({
  package: ArtifactRef.optional(),
  configs: z.array(ArtifactRef).optional(),
  libs: z.array(ArtifactRef).optional(),
  plugins: z.array(ArtifactRef).optional(),
});
export type ResolvedArtifacts = z.infer<typeof ResolvedArtifacts>;

/** A plan as stored: the request as accepted (defaults filled in) and its resolved artifacts. */
export const ReleaseSpec = ReleaseFields.extend({ artifacts: ResolvedArtifacts });
export type ReleaseSpec = z.infer<typeof ReleaseSpec>;

export const ReleaseState = z.enum(RELEASE_STATES);
export type ReleaseState = z.infer<typeof ReleaseState>;

/** What a machine ran before a step and what the step moved it to (versions only). */
export const StepVersions = z
  .object({
    package: z.number().int(),
    configs: z.array(z.number().int()),
    libs: z.array(z.number().int()),
    plugins: z.array(z.number().int()),
  })
  .nullable();

export const ReleaseStepView = z.object({
  id: z.number().int(),
  batch: z.number().int().nonnegative(),
  machine: MachineName,
  action: z.enum(["deploy", "rollback"]),
  state: z.enum(["running", "succeeded", "failed"]),
  startedAt: Timestamp,
  endedAt: Timestamp.nullable(),
  error: z.string().nullable(),
  from: StepVersions,
  to: StepVersions,
});
export type ReleaseStepView = z.infer<typeof ReleaseStepView>;

export const ReleaseBatchView = z.object({
  index: z.number().int().nonnegative(),
  machines: z.array(MachineName),
  phase: z.enum(["pending", "deploying", "gate", "approval", "done", "failed", "rolled_back"]),
});
export type ReleaseBatchView = z.infer<typeof ReleaseBatchView>;

export const ReleaseView = z.object({
  id: z.number().int(),
  service: ServiceName,
  type: ReleaseType,
  state: ReleaseState,
  /** Why the plan is paused: an operator's pause, or a gate waiting for approval. */
  pausedFor: z.enum(["operator", "approval"]).nullable(),
  spec: ReleaseSpec,
  createdBy: z.string(),
  createdAt: Timestamp,
  startedAt: Timestamp.nullable(),
  endedAt: Timestamp.nullable(),
  error: z.string().nullable(),
  note: z.string(),
  /** While a batch is in its health gate: when the gate passes if all stays healthy. */
  gateUntil: Timestamp.nullable(),
  batches: z.array(ReleaseBatchView),
  steps: z.array(ReleaseStepView),
});
export type ReleaseView = z.infer<typeof ReleaseView>;

export const ReleaseList = z.object({ releases: z.array(ReleaseView) });
export type ReleaseList = z.infer<typeof ReleaseList>;

export const ReleaseQuery = z.object({
  service: ServiceName.optional(),
  state: ReleaseState.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
export type ReleaseQuery = z.infer<typeof ReleaseQuery>;

export const ReleaseAction = z.enum(RELEASE_ACTIONS);
export type ReleaseAction = z.infer<typeof ReleaseAction>;
