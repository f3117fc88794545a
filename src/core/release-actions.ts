/**
 * Release plans' states and which operator action each state allows, as plain data (no
 * zod): the console's plan state machine (src/console/release/actions.ts) and the web
 * console's buttons both read this one table, so a page never offers what the API refuses.
 *
 * ```ts
 * ACTION_STATES.pause.includes("running"); // true
 * allowedActions("succeeded");              // ["rollback"]
 * ```
 */

/** Every state of a plan, in the order a plan usually moves through them. */
export const RELEASE_STATES = [
  "draft",
  "running",
  "paused",
  "succeeded",
  "failed",
  "aborted",
  "rolling_back",
  "rolled_back",
] as const;
export type ReleaseState = (typeof RELEASE_STATES)[number];

/** Every operator action on a plan. */
export const RELEASE_ACTIONS = ["execute", "pause", "resume", "abort", "rollback"] as const;
export type ReleaseAction = (typeof RELEASE_ACTIONS)[number];

/** The states each action may be taken in. */
export const ACTION_STATES: Readonly<Record<ReleaseAction, readonly ReleaseState[]>> = {
  execute: ["draft"],
  pause: ["running"],
  resume: ["paused"],
  abort: ["draft", "running", "paused"],
  rollback: ["succeeded", "failed", "aborted", "paused"],
};

/** The actions a plan in this state allows, in RELEASE_ACTIONS order. */
export function allowedActions(state: ReleaseState): ReleaseAction[] {
  return RELEASE_ACTIONS.filter((a) => ACTION_STATES[a].includes(state));
}
