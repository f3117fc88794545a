/**
 * An operator's actions on a plan, pure: execute, pause, resume, abort, rollback. Each
 * is allowed in some states only; the answer is the plan row to write, or why not.
 *
 * ```ts
 * act(plan, { action: "pause" }, now);   // { ok: true, patch: { state: "paused", ... } }
 * act(done, { action: "pause" }, now);   // { ok: false, message: "cannot pause a succeeded plan" }
 * ```
 */
import { ACTION_STATES } from "../../core/release-actions.js";
import type { ReleaseAction } from "../../core/schemas/release.js";
import type { MachineRef, Plan } from "./model.js";
import { type PlanPatch, withPhase } from "./plan.js";

/** The states each action may be taken in (one table for the console and the web UI). */
export { ACTION_STATES };

export type ActInput =
  /** `batches`: the targets as resolved now, split into batches. */
  { action: "execute"; batches: MachineRef[][] } | { action: Exclude<ReleaseAction, "execute"> };

export type ActResult = { ok: true; patch: PlanPatch } | { ok: false; message: string };

const article = (word: string) => (/^[aeiou]/.test(word) ? "an" : "a");

export function act(
  plan: Pick<Plan, "state" | "pausedFor" | "progress" | "error">,
  input: ActInput,
  now: number,
): ActResult {
  const { action } = input;
  if (!ACTION_STATES[action].includes(plan.state))
    return { ok: false, message: `cannot ${action} ${article(plan.state)} ${plan.state} plan` };
  const p = plan.progress;
  const same: PlanPatch = {
    state: plan.state,
    pausedFor: plan.pausedFor,
    progress: p,
    error: plan.error,
  };
  switch (input.action) {
    case "execute":
      if (input.batches.length === 0) return { ok: false, message: "the plan targets no machine" };
      return {
        ok: true,
        patch: {
          ...same,
          state: "running",
          startedAt: now,
          progress: {
            batches: input.batches.map((machines) => ({ machines, phase: "pending" })),
            current: -1,
            gate: null,
            rollback: null,
          },
        },
      };
    case "pause":
      return { ok: true, patch: { ...same, state: "paused", pausedFor: "operator" } };
    case "resume": {
      const batch = p.batches[p.current];
      // An approval finishes its batch; a gate interrupted by a pause runs again from the start.
      const phase =
        batch?.phase === "approval" ? "done" : batch?.phase === "gate" ? "deploying" : batch?.phase;
      const progress =
        batch && phase ? { ...p, gate: null, batches: withPhase(p, p.current, phase) } : p;
      return { ok: true, patch: { ...same, state: "running", pausedFor: null, progress } };
    }
    case "abort":
      return {
        ok: true,
        patch: {
          ...same,
          state: "aborted",
          pausedFor: null,
          endedAt: now,
          progress: { ...p, gate: null },
        },
      };
    case "rollback":
      return {
        ok: true,
        patch: {
          ...same,
          state: "rolling_back",
          pausedFor: null,
          endedAt: null,
          progress: { ...p, gate: null, rollback: { scope: "plan", steps: null } },
        },
      };
  }
}
