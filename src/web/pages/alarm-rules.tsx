import type { AlarmRule } from "../../core/schemas/alarm.js";
import { instanceLabel, ruleCondition } from "../alarm-text.js";
import { API } from "../api.js";
import { RuleStateBadge, SeverityBadge } from "../components/badges.js";
import { ConfirmDialog, useDialog } from "../components/dialog.js";
import { DataTable, orDash } from "../components/table.js";
import { useLoad, usePoll } from "../components.js";
import { fmt, useI18n } from "../i18n/index.js";
import { to } from "../router.js";
import { useSession } from "../session.js";

/** Alarm rules with what each is doing now; operators add, edit and delete them. */
export function RulesTab({ service }: { service: string | undefined }) {
  const { t, f } = useI18n();
  const { can } = useSession();
  const operator = can("operator");
  const rules = useLoad(() => API.rules(service), [service]);
  usePoll(rules.reload, 15_000);
  const deleting = useDialog<AlarmRule>(rules.reload);

  return (
    <>
      <div class="toolbar">
        <span class="spacer" />
        {operator && (
          <a class="button primary" href={to.rule("new", { service })}>
            {t.newRule}
          </a>
        )}
      </div>
      <DataTable
        load={rules}
        rows={(d) => d.rules}
        empty={t.noRules}
        testId="rules"
        columns={[
          "#",
          t.service,
          t.attribute,
          t.condition,
          t.severity,
          t.receivers,
          t.state,
          t.actionsHeader,
        ]}
        row={(r) => (
          <tr key={r.id}>
            <td>{r.id}</td>
            <td>
              <a href={to.service(r.service)}>{r.service}</a>
            </td>
            <td>
              {r.attr}
              <div class="muted small">{instanceLabel(t, r.instance)}</div>
            </td>
            <td>{ruleCondition(t, f, r)}</td>
            <td>
              <SeverityBadge severity={r.severity} />
            </td>
            <td>{orDash(r.receivers.join(", "))}</td>
            <td>
              <RuleStateBadge rule={r} />
            </td>
            <td class="row-actions">
              <a
                href={to.rule(r.id)}
                aria-label={fmt(operator ? t.editRuleN : t.viewRuleN, { id: String(r.id) })}
              >
                {operator ? t.edit : t.view}
              </a>
              {operator && (
                <button
                  type="button"
                  class="link danger-link"
                  aria-label={fmt(t.deleteRuleN, { id: String(r.id) })}
                  onClick={() => deleting.show(r)}
                >
                  {t.delete}
                </button>
              )}
            </td>
          </tr>
        )}
      />
      {deleting.render((r) => (
        <ConfirmDialog
          title={fmt(t.deleteRuleTitle, { id: String(r.id) })}
          message={`${r.service} · ${r.attr} · ${ruleCondition(t, f, r)}`}
          confirmLabel={t.delete}
          danger
          onConfirm={() => API.deleteRule(r.id)}
          onClose={deleting.close}
        />
      ))}
    </>
  );
}
