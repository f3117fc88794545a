import type {
  BatchSize,
  ReleaseAction,
  ReleaseBatchView,
  ReleaseState,
  ReleaseTargets,
  ReleaseType,
  ReleaseVersions,
  ReleaseView,
} from "../core/schemas/release.js";
import type { Messages } from "./i18n/en.js";
import { fmt } from "./i18n/index.js";

/**
 * Words for release plans, from the catalog: one place for the list, the detail and the
 * wizard. Which actions each state allows: src/core/release-actions.ts (the console's own table).
 */

export function releaseStateLabel(t: Messages, s: ReleaseState): string {
  return {
    draft: t.relDraft,
    running: t.relRunning,
    paused: t.relPaused,
    succeeded: t.relSucceeded,
    failed: t.relFailed,
    aborted: t.relAborted,
    rolling_back: t.relRollingBack,
    rolled_back: t.relRolledBack,
  }[s];
}

export function releaseStateBadge(s: ReleaseState): string {
  return {
    draft: "badge",
    running: "badge badge-run",
    paused: "badge badge-warn",
    succeeded: "badge badge-ok",
    failed: "badge badge-bad",
    aborted: "badge badge-bad",
    rolling_back: "badge badge-warn",
    rolled_back: "badge",
  }[s];
}

export function releaseTypeLabel(t: Messages, type: ReleaseType): string {
  return { full: t.typeFull, code: t.typeCode, config: t.typeConfig, libs: t.typeLibs }[type];
}

export function actionLabel(t: Messages, a: ReleaseAction): string {
  return {
    execute: t.actExecute,
    pause: t.actPause,
    resume: t.actResume,
    abort: t.actAbort,
    rollback: t.actRollback,
  }[a];
}

export function actionText(t: Messages, a: ReleaseAction): string {
  return {
    execute: t.actExecuteText,
    pause: t.actPauseText,
    resume: t.actResumeText,
    abort: t.actAbortText,
    rollback: t.actRollbackText,
  }[a];
}

export function phaseLabel(t: Messages, p: ReleaseBatchView["phase"]): string {
  return {
    pending: t.phasePending,
    deploying: t.phaseDeploying,
    gate: t.phaseGate,
    approval: t.phaseApproval,
    done: t.phaseDone,
    failed: t.phaseFailed,
    rolled_back: t.phaseRolledBack,
  }[p];
}

export function phaseBadge(p: ReleaseBatchView["phase"]): string {
  return {
    pending: "badge",
    deploying: "badge badge-run",
    gate: "badge badge-run",
    approval: "badge badge-warn",
    done: "badge badge-ok",
    failed: "badge badge-bad",
    rolled_back: "badge",
  }[p];
}

const list = (vs: readonly number[]) => vs.map((v) => `v${v}`).join(", ");

/** "package v2 · configs v3, v4" */
export function versionsText(t: Messages, v: ReleaseVersions): string {
  const parts: string[] = [];
  if (v.package !== undefined) parts.push(`${t.partPackage} v${v.package}`);
  if (v.configs?.length) parts.push(`${t.partConfigs} ${list(v.configs)}`);
  if (v.libs?.length) parts.push(`${t.partLibs} ${list(v.libs)}`);
  if (v.plugins?.length) parts.push(`${t.partPlugins} ${list(v.plugins)}`);
  return parts.join(" · ");
}

export function targetsText(t: Messages, targets: ReleaseTargets): string {
  switch (targets.kind) {
    case "machines":
      return fmt(t.targetsMachines, { machines: targets.machines.join(", ") });
    case "percent":
      return fmt(t.targetsPercent, { percent: String(targets.percent) });
    case "labels":
      return fmt(t.targetsLabels, {
        labels: Object.entries(targets.labels)
          .map(([k, v]) => `${k}=${v}`)
          .join(", "),
      });
  }
}

export function batchText(t: Messages, b: BatchSize): string {
  if ("machines" in b) return fmt(t.batchMachines, { n: String(b.machines) });
  if ("percent" in b) return fmt(t.batchPercent, { percent: String(b.percent) });
  return t.batchRest;
}

/** Batches done of all, for the list. */
export function progressText(t: Messages, r: ReleaseView): string {
  if (r.batches.length === 0) return "–";
  const done = r.batches.filter((b) => b.phase === "done").length;
  return fmt(t.batchesDone, { done: String(done), total: String(r.batches.length) });
}
