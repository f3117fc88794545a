/**
 * One rule over one minute of stored points → a measurement: `breach`, `ok`, or `nodata`
 * (no point to judge by; for max, min and fluctuation that is inconclusive — it neither
 * fires nor resolves — while a `nodata` rule turns missing points into a breach).
 * Pure: the points come in as a map of minute → value.
 *
 * ```ts
 * const series = new Map([[m - DAY_MS, 1000], [m, 400]]);
 * measure({ kind: "fluctuation", attr: "logins",
 *   fluctuation: { percent: 50, against: "yesterday", meanMinutes: 10, minBase: 100 } }, m, series);
 * // → { outcome: "breach", value: 400, message: "logins fell 60% against the same minute yesterday (400 vs 1000; fires at ±50%)" }
 * ```
 */
import type { AlarmRuleSpec, FluctuationSpec } from "../../core/schemas/alarm.js";
import { MINUTE_MS } from "../../core/schemas/monitor.js";

export const DAY_MS = 1440 * MINUTE_MS;

/** Stored values by minute (epoch ms); a minute with no point is absent. */
export type Series = ReadonlyMap<number, number>;

/** What a rule tests, without who hears of it. */
export type RuleCondition = { attr: string } & (
  | { kind: "max"; threshold: number }
  | { kind: "min"; threshold: number }
  | { kind: "fluctuation"; fluctuation: FluctuationSpec }
  | { kind: "nodata"; nodataMinutes: number }
);

export type Outcome = "ok" | "nodata" | "breach";

export type Measurement =
  | { outcome: "breach"; minute: number; value: number | null; message: string }
  | { outcome: "ok"; minute: number; value: number | null; message: string }
  | { outcome: "nodata"; minute: number; value: null; message: string };

/** A condition taken from a full rule (the rule's other fields do not change the measurement). */
export function conditionOf(rule: AlarmRuleSpec): RuleCondition {
  switch (rule.kind) {
    case "max":
    case "min":
      return { attr: rule.attr, kind: rule.kind, threshold: rule.threshold };
    case "fluctuation":
      return { attr: rule.attr, kind: rule.kind, fluctuation: rule.fluctuation };
    case "nodata":
      return { attr: rule.attr, kind: rule.kind, nodataMinutes: rule.nodataMinutes };
  }
}

/**
 * Which minutes measuring `minute` reads: `before` whole minutes before it, and the
 * same minute a day earlier when the rule compares against yesterday.
 */
export function needs(c: RuleCondition): { before: number; yesterday: boolean } {
  switch (c.kind) {
    case "max":
    case "min":
      return { before: 0, yesterday: false };
    case "fluctuation":
      return c.fluctuation.against === "mean"
        ? { before: c.fluctuation.meanMinutes, yesterday: false }
        : { before: 0, yesterday: true };
    case "nodata":
      return { before: c.nodataMinutes - 1, yesterday: false };
  }
}

export function measure(c: RuleCondition, minute: number, series: Series): Measurement {
  const value = series.get(minute);
  switch (c.kind) {
    case "max":
    case "min": {
      if (value === undefined) return noPoint(c.attr, minute);
      const breach = c.kind === "max" ? value > c.threshold : value < c.threshold;
      const [bad, good] = c.kind === "max" ? [">", "≤"] : ["<", "≥"];
      const message = `${c.attr} = ${fmt(value)} ${breach ? bad : good} ${c.kind} ${fmt(c.threshold)}`;
      return { outcome: breach ? "breach" : "ok", minute, value, message };
    }
    case "fluctuation":
      return measureFluctuation(c.attr, c.fluctuation, minute, value, series);
    case "nodata": {
      let last: number | undefined;
      for (let i = 0; i < c.nodataMinutes; i++) {
        const m = minute - i * MINUTE_MS;
        if (series.has(m)) {
          last = m;
          break;
        }
      }
      if (last !== undefined) {
        const v = series.get(last) ?? null;
        const message =
          last === minute
            ? `${c.attr} has a point (${fmt(v ?? 0)})`
            : `${c.attr} last had a point at ${clock(last)} UTC, within ${c.nodataMinutes} minute(s)`;
        return { outcome: "ok", minute, value: value ?? null, message };
      }
      return {
        outcome: "breach",
        minute,
        value: null,
        message: `no point for ${c.attr} for ${c.nodataMinutes} minute(s) (${clock(minute - (c.nodataMinutes - 1) * MINUTE_MS)}–${clock(minute)} UTC)`,
      };
    }
  }
}

function measureFluctuation(
  attr: string,
  f: FluctuationSpec,
  minute: number,
  value: number | undefined,
  series: Series,
): Measurement {
  if (value === undefined) return noPoint(attr, minute);
  let base: number;
  let against: string;
  if (f.against === "yesterday") {
    const y = series.get(minute - DAY_MS);
    if (y === undefined) {
      return {
        outcome: "nodata",
        minute,
        value: null,
        message: `no point for ${attr} at the same minute yesterday`,
      };
    }
    base = y;
    against = "the same minute yesterday";
  } else {
    let sum = 0;
    let count = 0;
    for (let i = 1; i <= f.meanMinutes; i++) {
      const v = series.get(minute - i * MINUTE_MS);
      if (v !== undefined) {
        sum += v;
        count++;
      }
    }
    if (count === 0) {
      return {
        outcome: "nodata",
        minute,
        value: null,
        message: `no point for ${attr} in the previous ${f.meanMinutes} minute(s)`,
      };
    }
    base = sum / count;
    against = `the mean of the previous ${f.meanMinutes} minute(s)`;
  }
  const size = Math.abs(base);
  if (size === 0 || size < f.minBase) {
    const why =
      size === 0
        ? `base (${against}) is 0, so a change in percent means nothing`
        : `base ${fmt(base)} (${against}) is below the minimum base ${fmt(f.minBase)}`;
    return {
      outcome: "ok",
      minute,
      value,
      message: `${attr} = ${fmt(value)}; ${why}: no fluctuation alarm`,
    };
  }
  const change = ((value - base) / size) * 100;
  const breach = Math.abs(change) >= f.percent;
  const verb = change < 0 ? "fell" : change > 0 ? "rose" : "held";
  const by = change === 0 ? "" : ` ${fmt(Math.abs(change))}%`;
  return {
    outcome: breach ? "breach" : "ok",
    minute,
    value,
    message: `${attr} ${verb}${by} against ${against} (${fmt(value)} vs ${fmt(base)}; fires at ±${fmt(f.percent)}%)`,
  };
}

function noPoint(attr: string, minute: number): Measurement {
  return {
    outcome: "nodata",
    minute,
    value: null,
    message: `no point for ${attr} at ${clock(minute)} UTC`,
  };
}

/** A number for people: at most 6 significant digits, no exponent for everyday sizes. */
export function fmt(v: number): string {
  if (Number.isInteger(v)) return String(v);
  return String(Number(v.toPrecision(6)));
}

function clock(minute: number): string {
  return new Date(minute).toISOString().slice(11, 16);
}
