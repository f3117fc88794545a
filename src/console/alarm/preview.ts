/**
 * How a rule would have fired over stored history: the same measurement and step
 * functions the evaluator runs, minute by minute, with no silences and no notices.
 *
 * ```ts
 * simulate(rule, series, from, to); // → { firing: [{ minute, value, message }], alarms: [{ firedAt, resolvedAt }] }
 * ```
 */
import type { AlarmRuleSpec } from "../../core/schemas/alarm.js";
import { MINUTE_MS } from "../../core/schemas/monitor.js";
import { type AlarmState, step } from "./lifecycle.js";
import { conditionOf, type Measurement, measure, type Series } from "./rules.js";

export interface Simulation {
  firing: { minute: number; value: number | null; message: string }[];
  /** Times as a live alarm records them: the end of the evaluated minute. */
  alarms: { firedAt: number; resolvedAt: number | null }[];
}

/** Evaluate every minute of [from, to] in order; the flap window warms up on the minutes before `from`. */
export function simulate(
  rule: AlarmRuleSpec,
  series: Series,
  from: number,
  to: number,
): Simulation {
  const c = conditionOf(rule);
  const m = rule.flap.m;
  const window: Measurement[] = [];
  for (let i = m - 1; i >= 1; i--) window.push(measure(c, from - i * MINUTE_MS, series));
  let state: AlarmState = { state: "ok" };
  const out: Simulation = { firing: [], alarms: [] };
  for (let minute = from; minute <= to; minute += MINUTE_MS) {
    const current = measure(c, minute, series);
    window.push(current);
    if (window.length > m) window.shift();
    const s = step({
      rule: { flap: rule.flap, repeatMinutes: 0 },
      previous: state,
      at: minute + MINUTE_MS,
      window,
      silenced: false,
    });
    state = s.next;
    if (s.transition === "firing")
      out.alarms.push({ firedAt: minute + MINUTE_MS, resolvedAt: null });
    const open = out.alarms.at(-1);
    if (s.transition === "resolved" && open) open.resolvedAt = minute + MINUTE_MS;
    if (state.state === "firing")
      out.firing.push({ minute, value: current.value, message: current.message });
  }
  return out;
}
