import type { AlarmRule, RuleKind, RuleState, Severity } from "../core/schemas/alarm.js";
import type { Messages } from "./i18n/en.js";
import { type Formats, fmt } from "./i18n/index.js";

/** Words for alarm values, from the catalog: one place for every page that shows them. */
export function severityLabel(t: Messages, s: Severity): string {
  return { info: t.sevInfo, warning: t.sevWarning, critical: t.sevCritical }[s];
}

export function severityBadge(s: Severity): string {
  return { info: "badge", warning: "badge badge-warn", critical: "badge badge-bad" }[s];
}

export function ruleStateLabel(t: Messages, s: RuleState): string {
  return {
    ok: t.stateOk,
    pending: t.statePending,
    firing: t.stateFiring,
    resolved: t.stateResolved,
  }[s];
}

export function ruleStateBadge(s: RuleState): string {
  return {
    ok: "badge badge-ok",
    pending: "badge badge-warn",
    firing: "badge badge-bad",
    resolved: "badge badge-ok",
  }[s];
}

export function kindLabel(t: Messages, k: RuleKind): string {
  return { max: t.kindMax, min: t.kindMin, fluctuation: t.kindFluctuation, nodata: t.kindNodata }[
    k
  ];
}

/** What a rule tests, in a few words: "> 100", "±50% against yesterday". */
export function ruleCondition(t: Messages, f: Formats, r: AlarmRule): string {
  switch (r.kind) {
    case "max":
      return fmt(t.condMax, { threshold: f.number(r.threshold) });
    case "min":
      return fmt(t.condMin, { threshold: f.number(r.threshold) });
    case "fluctuation": {
      const fl = r.fluctuation;
      const base =
        fl.against === "yesterday"
          ? t.againstYesterday
          : fmt(t.againstMean, { minutes: f.number(fl.meanMinutes) });
      const text = fmt(t.condFluctuation, { percent: f.number(fl.percent), base });
      return fl.minBase > 0
        ? `${text} ${fmt(t.condMinBase, { minBase: f.number(fl.minBase) })}`
        : text;
    }
    case "nodata":
      return fmt(t.condNodata, { minutes: f.number(r.nodataMinutes) });
  }
}

export function instanceLabel(t: Messages, instance: string): string {
  return instance === "*" ? t.total : instance;
}
