import { useEffect, useState } from "preact/hooks";
import type { AlarmRule, AlarmRuleInput } from "../../core/schemas/alarm.js";
import { API } from "../api.js";
import { SubmitButton } from "../components/field.js";
import { LoadState, PageTitle, useAction, useLoad } from "../components.js";
import { fmt, useI18n } from "../i18n/index.js";
import { navigate, to } from "../router.js";
import { useSession } from "../session.js";
import { formOf, inputOf, RuleFields, type RuleForm } from "./rule-form.js";
import { RulePreview } from "./rule-preview.js";

/**
 * One alarm rule: create or edit it (operators), see it (viewers), and see how it would
 * have fired over the last day. Operators preview the form as it stands (nothing is saved
 * and nobody is notified), and see the preview again once it is saved.
 */
export function RulePage({ id, query }: { id: number | "new"; query: URLSearchParams }) {
  const { t } = useI18n();
  const rule = useLoad(() => (id === "new" ? Promise.resolve(undefined) : API.rule(id)), [id]);
  const title = id === "new" ? t.newRuleTitle : fmt(t.ruleTitle, { id: String(id) });
  return (
    <>
      <p class="crumbs">
        <a href={to.alarms("rules")}>{t.alarmRules}</a> / <span>{title}</span>
      </p>
      <PageTitle>{title}</PageTitle>
      {id !== "new" && <LoadState load={rule} />}
      {(id === "new" || rule.data) && (
        <RuleEditor
          key={`${id}`}
          rule={rule.data}
          service={query.get("service") ?? undefined}
          saved={query.get("saved") === "1"}
          onSaved={rule.reload}
        />
      )}
    </>
  );
}

function RuleEditor({
  rule,
  service,
  saved,
  onSaved,
}: {
  rule: AlarmRule | undefined;
  service: string | undefined;
  saved: boolean;
  onSaved: () => void;
}) {
  const { t } = useI18n();
  const { can } = useSession();
  const operator = can("operator");
  const [form, setForm] = useState<RuleForm>(() => formOf(rule, service));
  const [done, setDone] = useState(saved);
  // What the preview shows: the form as it was when Preview (or Save) was pressed.
  const [previewed, setPreviewed] = useState<{ input: AlarmRuleInput; n: number }>();
  const action = useAction();
  const set = (patch: Partial<RuleForm>) => {
    setDone(false);
    setForm((f) => ({ ...f, ...patch }));
  };
  const preview = () => setPreviewed((p) => ({ input: inputOf(form), n: (p?.n ?? 0) + 1 }));
  // A saved rule comes back from the console: show what it stored (defaults filled in).
  useEffect(() => {
    if (!rule) return;
    const stored = formOf(rule, undefined);
    setForm(stored);
    if (operator) setPreviewed((p) => ({ input: inputOf(stored), n: (p?.n ?? 0) + 1 }));
  }, [rule]);

  const submit = async (e: Event) => {
    e.preventDefault();
    const body = inputOf(form);
    let created: AlarmRule | undefined;
    const ok = await action.run(async () => {
      if (rule) await API.updateRule(rule.id, body);
      else created = await API.createRule(body);
    });
    if (!ok) return;
    if (created) navigate(to.rule(created.id, { saved: 1 }));
    else {
      setDone(true);
      onSaved();
    }
  };

  return (
    <>
      <form class="card form-card" onSubmit={submit} aria-label={t.ruleFormLabel}>
        <RuleFields form={form} set={set} error={action.error} readOnly={!operator} />
        {done && (
          <p class="note note-ok" role="status">
            {t.ruleSaved}
          </p>
        )}
        {operator && (
          <div class="actions">
            <SubmitButton busy={action.busy} busyLabel={t.saving}>
              {rule ? t.saveAndPreview : t.createAndPreview}
            </SubmitButton>
            <button type="button" onClick={preview}>
              {t.previewUnsaved}
            </button>
            <a class="button" href={to.alarms("rules")}>
              {t.cancel}
            </a>
          </div>
        )}
      </form>
      {operator && previewed ? (
        <RulePreview
          key={previewed.n}
          rule={previewed.input}
          preview={() => API.previewRuleInput(previewed.input)}
          version={previewed.n}
        />
      ) : !operator && rule ? (
        <RulePreview
          rule={rule}
          preview={() => API.previewRule(rule.id)}
          version={`${rule.id}@${rule.updatedAt}`}
        />
      ) : (
        <p class="note">{t.previewHint}</p>
      )}
    </>
  );
}
