/**
 * The life of one rule's alarm, as a pure step function over one evaluated minute:
 * `(rule, previous state, at, the last m measurements, silenced) → next state, the
 * transition, and the notice to send`. Re-running a step with the same input gives the
 * same answer; the evaluator stores the result with a compare-and-set.
 *
 * States, in order: `ok` < `pending` < `firing`; `resolved` ends an alarm and then acts as `ok`.
 *
 * ```ts
 * const s = step({ rule: { flap: { n: 1, m: 1 }, repeatMinutes: 30 }, previous: { state: "ok" },
 *   at, window: [breach], silenced: false });
 * // s.next.state === "firing", s.transition === "firing", s.notice === "firing"
 * ```
 */
import type { FlapSpec, NoticeEvent } from "../../core/schemas/alarm.js";
import { MINUTE_MS } from "../../core/schemas/monitor.js";
import type { Measurement } from "./rules.js";

export type AlarmState =
  | { state: "ok" }
  /** Breaking the rule, but fewer than n of the last m minutes did. */
  | { state: "pending"; activeAt: number }
  | {
      state: "firing";
      activeAt: number;
      firedAt: number;
      /** When a notice last went out; null if none has (it fired while silenced). */
      lastSentAt: number | null;
      ackedBy: string | null;
      ackedAt: number | null;
    }
  | { state: "resolved"; firedAt: number; resolvedAt: number };

export type StateName = AlarmState["state"];

const ORDER: Record<StateName, number> = { ok: 0, resolved: 0, pending: 1, firing: 2 };

/** The worse of two states (a service's state is the worst of its rules'). */
export function worst(a: StateName, b: StateName): StateName {
  return ORDER[b] > ORDER[a] ? b : a;
}

export type Transition = "pending" | "firing" | "resolved" | "cleared";

export interface StepInput {
  rule: { flap: FlapSpec; repeatMinutes: number };
  previous: AlarmState;
  /** The end of the evaluated minute (ms): the time the step happens at. */
  at: number;
  /** Measurements of the last `flap.m` minutes, oldest first; the last is the evaluated minute. */
  window: readonly Measurement[];
  /** An active silence matches this rule: change state, record it, send nothing. */
  silenced: boolean;
}

export interface Step {
  next: AlarmState;
  /** What changed, if anything; `cleared` is pending going back to ok without firing. */
  transition: Transition | null;
  /** The notice to send now. */
  notice: NoticeEvent | null;
  /** A notice that a silence held back (firing or resolved only; held-back repeats are not noted). */
  suppressed: NoticeEvent | null;
}

export function step(input: StepInput): Step {
  const { rule, previous: prev, at, window, silenced } = input;
  const current = window.at(-1);
  if (!current) throw new Error("step needs at least the evaluated minute's measurement");
  const breaches = window.filter((m) => m.outcome === "breach").length;
  const flapMet = current.outcome === "breach" && breaches >= rule.flap.n;

  if (prev.state === "firing") {
    if (current.outcome === "ok") {
      // Tell people it is over only if they heard it start.
      const told = prev.lastSentAt !== null;
      const next: AlarmState = { state: "resolved", firedAt: prev.firedAt, resolvedAt: at };
      return {
        next,
        transition: "resolved",
        notice: told && !silenced ? "resolved" : null,
        suppressed: told && silenced ? "resolved" : null,
      };
    }
    // Still breaking, or no point to judge by: it stays firing, and may repeat.
    return {
      ...stayFiring(prev, rule.repeatMinutes, at, silenced),
      transition: null,
      suppressed: null,
    };
  }

  if (flapMet) {
    const activeAt = prev.state === "pending" ? prev.activeAt : at;
    return {
      next: {
        state: "firing",
        activeAt,
        firedAt: at,
        lastSentAt: silenced ? null : at,
        ackedBy: null,
        ackedAt: null,
      },
      transition: "firing",
      notice: silenced ? null : "firing",
      suppressed: silenced ? "firing" : null,
    };
  }

  if (prev.state === "pending") {
    if (breaches > 0) return quiet(prev);
    return { next: { state: "ok" }, transition: "cleared", notice: null, suppressed: null };
  }

  // ok or resolved
  if (current.outcome === "breach") {
    return {
      next: { state: "pending", activeAt: at },
      transition: "pending",
      notice: null,
      suppressed: null,
    };
  }
  return quiet(prev);
}

function quiet(prev: AlarmState): Step {
  return { next: prev, transition: null, notice: null, suppressed: null };
}

function stayFiring(
  prev: Extract<AlarmState, { state: "firing" }>,
  repeatMinutes: number,
  at: number,
  silenced: boolean,
): Pick<Step, "next" | "notice"> {
  if (silenced || prev.ackedBy !== null) return { next: prev, notice: null };
  if (prev.lastSentAt === null) {
    // It fired during a silence that has ended: the first notice goes out now.
    return { next: { ...prev, lastSentAt: at }, notice: "firing" };
  }
  if (repeatMinutes > 0 && at - prev.lastSentAt >= repeatMinutes * MINUTE_MS) {
    return { next: { ...prev, lastSentAt: at }, notice: "repeat" };
  }
  return { next: prev, notice: null };
}

/** Acknowledge a firing alarm: stops its repeats until it resolves. Other states are unchanged. */
export function acknowledge(s: AlarmState, by: string, at: number): AlarmState {
  if (s.state !== "firing" || s.ackedBy !== null) return s;
  return { ...s, ackedBy: by, ackedAt: at };
}
