import type { AlarmRule, Severity } from "../../core/schemas/alarm.js";
import type { ReleaseState } from "../../core/schemas/release.js";
import { ruleStateBadge, ruleStateLabel, severityBadge, severityLabel } from "../alarm-text.js";
import { useI18n } from "../i18n/index.js";
import { releaseStateBadge, releaseStateLabel } from "../release-text.js";

/** An alarm's or a rule's severity. */
export function SeverityBadge({ severity }: { severity: Severity }) {
  const { t } = useI18n();
  return <span class={severityBadge(severity)}>{severityLabel(t, severity)}</span>;
}

/** What a rule is doing now (ok, pending, firing), or that it is disabled. */
export function RuleStateBadge({ rule }: { rule: Pick<AlarmRule, "enabled" | "state"> }) {
  const { t } = useI18n();
  return rule.enabled ? (
    <span class={ruleStateBadge(rule.state)}>{ruleStateLabel(t, rule.state)}</span>
  ) : (
    <span class="badge">{t.ruleDisabled}</span>
  );
}

/** A release plan's state. */
export function ReleaseStateBadge({ state }: { state: ReleaseState }) {
  const { t } = useI18n();
  return <span class={releaseStateBadge(state)}>{releaseStateLabel(t, state)}</span>;
}
