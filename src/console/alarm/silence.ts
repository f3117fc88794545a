/**
 * Silences: "send nothing about these alarms until T". An alarm matching an active
 * silence still changes state and is recorded; only its notices are held back.
 *
 * ```ts
 * silencing([{ id: 1, service: "Login.Auth", attr: null, ruleId: null, until }], rule, at); // → [1]
 * ```
 */

export interface SilenceSpec {
  id: number;
  service: string | null;
  attr: string | null;
  ruleId: number | null;
  /** Epoch ms; the silence holds while the evaluated time is before it. */
  until: number;
}

/** Whether a silence is in force at `at` and every field it names matches the rule. */
export function silenceMatches(
  s: SilenceSpec,
  rule: { id: number; service: string; attr: string },
  at: number,
): boolean {
  return (
    at < s.until &&
    (s.service === null || s.service === rule.service) &&
    (s.attr === null || s.attr === rule.attr) &&
    (s.ruleId === null || s.ruleId === rule.id)
  );
}

/** Ids of the silences that hold this rule's notices at `at` (empty: not silenced). */
export function silencing(
  silences: readonly SilenceSpec[],
  rule: { id: number; service: string; attr: string },
  at: number,
): number[] {
  return silences.filter((s) => silenceMatches(s, rule, at)).map((s) => s.id);
}
