import { useState } from "preact/hooks";
import type { AlarmRule } from "../../core/schemas/alarm.js";
import {
  instanceLabel,
  ruleCondition,
  ruleStateBadge,
  ruleStateLabel,
  severityBadge,
  severityLabel,
} from "../alarm-text.js";
import { API } from "../api.js";
import { ConfirmDialog } from "../components/dialog.js";
import { LoadState, useLoad, usePoll } from "../components.js";
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
  const [deleting, setDeleting] = useState<AlarmRule>();

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
      <LoadState load={rules} empty={t.noRules} isEmpty={(d) => d.rules.length === 0} />
      {rules.data && rules.data.rules.length > 0 && (
        <div class="table-wrap">
          <table data-testid="rules">
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">{t.service}</th>
                <th scope="col">{t.attribute}</th>
                <th scope="col">{t.condition}</th>
                <th scope="col">{t.severity}</th>
                <th scope="col">{t.receivers}</th>
                <th scope="col">{t.state}</th>
                <th scope="col">{t.actionsHeader}</th>
              </tr>
            </thead>
            <tbody>
              {rules.data.rules.map((r) => (
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
                    <span class={severityBadge(r.severity)}>{severityLabel(t, r.severity)}</span>
                  </td>
                  <td>
                    {r.receivers.length > 0 ? r.receivers.join(", ") : <span class="muted">–</span>}
                  </td>
                  <td>
                    {r.enabled ? (
                      <span class={ruleStateBadge(r.state)}>{ruleStateLabel(t, r.state)}</span>
                    ) : (
                      <span class="badge">{t.ruleDisabled}</span>
                    )}
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
                        onClick={() => setDeleting(r)}
                      >
                        {t.delete}
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {deleting && (
        <ConfirmDialog
          title={fmt(t.deleteRuleTitle, { id: String(deleting.id) })}
          message={`${deleting.service} · ${deleting.attr} · ${ruleCondition(t, f, deleting)}`}
          confirmLabel={t.delete}
          danger
          onConfirm={() => API.deleteRule(deleting.id)}
          onClose={() => {
            setDeleting(undefined);
            rules.reload();
          }}
        />
      )}
    </>
  );
}
