import { useState } from "preact/hooks";
import type { Silence } from "../../core/schemas/alarm.js";
import { API } from "../api.js";
import { ConfirmDialog, useDialog } from "../components/dialog.js";
import { CheckField, InputField, SelectField } from "../components/field.js";
import { DataTable, orDash } from "../components/table.js";
import { useLoad, When } from "../components.js";
import { fmt, useI18n } from "../i18n/index.js";
import { useSession } from "../session.js";

const HOUR = 3_600_000;
const DURATIONS = [0.5, 1, 4, 24, 72, 168] as const;

/** Silences in force (or all); operators add and lift them. */
export function SilencesTab() {
  const { t, f } = useI18n();
  const { can } = useSession();
  const operator = can("operator");
  const [all, setAll] = useState(false);
  const silences = useLoad(() => API.silences(all), [all]);
  const adding = useDialog<true>(silences.reload);
  const lifting = useDialog<Silence>(silences.reload);
  const now = Date.now();
  return (
    <>
      <div class="toolbar">
        <CheckField checked={all} onValue={setAll}>
          {t.showExpired}
        </CheckField>
        <span class="spacer" />
        {operator && (
          <button type="button" class="primary" onClick={() => adding.show(true)}>
            {t.newSilence}
          </button>
        )}
      </div>
      <DataTable
        load={silences}
        rows={(d) => d.silences}
        empty={t.noSilences}
        testId="silences"
        columns={[t.matches, t.until, t.reason, t.createdBy, operator && t.actionsHeader]}
        row={(s) => (
          <tr key={s.id}>
            <td>{matcherText(s, t.ruleNumber)}</td>
            <td>
              {f.dateTime(s.until)}{" "}
              <span class="muted">
                (<When at={s.until} now={now} />)
              </span>
            </td>
            <td>{orDash(s.reason)}</td>
            <td>{s.createdBy}</td>
            {operator && (
              <td>
                {Date.parse(s.until) > now && (
                  <button type="button" onClick={() => lifting.show(s)}>
                    {t.liftSilence}
                  </button>
                )}
              </td>
            )}
          </tr>
        )}
      />
      {adding.render(() => (
        <SilenceDialog initial={{}} onClose={adding.close} />
      ))}
      {lifting.render((s) => (
        <ConfirmDialog
          title={t.liftSilenceTitle}
          message={matcherText(s, t.ruleNumber)}
          confirmLabel={t.liftSilence}
          danger
          onConfirm={() => API.deleteSilence(s.id)}
          onClose={lifting.close}
        />
      ))}
    </>
  );
}

function matcherText(s: Silence, ruleNumber: string): string {
  const parts: string[] = [];
  if (s.matcher.service) parts.push(s.matcher.service);
  if (s.matcher.attr) parts.push(s.matcher.attr);
  if (s.matcher.ruleId !== undefined) parts.push(fmt(ruleNumber, { id: String(s.matcher.ruleId) }));
  return parts.join(" · ");
}

/** Silence alarms that match a service, an attribute and/or one rule, for a while. */
export function SilenceDialog({
  initial,
  onClose,
}: {
  initial: { service?: string; attr?: string; ruleId?: number };
  onClose: () => void;
}) {
  const { t, f } = useI18n();
  const [service, setService] = useState(initial.service ?? "");
  const [attr, setAttr] = useState(initial.attr ?? "");
  const [onlyRule, setOnlyRule] = useState(initial.ruleId !== undefined);
  const [hours, setHours] = useState("1");
  const [reason, setReason] = useState("");
  const durationLabel = (h: number) =>
    h < 1
      ? f.duration(h * 60, "minute")
      : h < 24
        ? f.duration(h, "hour")
        : f.duration(h / 24, "day");
  return (
    <ConfirmDialog
      title={t.newSilence}
      confirmLabel={t.silence}
      onConfirm={() =>
        API.createSilence({
          matcher: {
            ...(service.trim() ? { service: service.trim() } : {}),
            ...(attr ? { attr } : {}),
            ...(onlyRule && initial.ruleId !== undefined ? { ruleId: initial.ruleId } : {}),
          },
          until: new Date(Date.now() + Number(hours) * HOUR).toISOString(),
          reason,
        })
      }
      onClose={onClose}
    >
      <p class="muted">{t.silenceIntro}</p>
      <InputField id="silence-service" label={t.service} value={service} onValue={setService} />
      <InputField id="silence-attr" label={t.attribute} value={attr} onValue={setAttr} />
      {initial.ruleId !== undefined && (
        <CheckField checked={onlyRule} onValue={setOnlyRule}>
          {fmt(t.onlyThisRule, { id: String(initial.ruleId) })}
        </CheckField>
      )}
      <SelectField
        id="silence-for"
        label={t.silenceFor}
        value={hours}
        onValue={setHours}
        options={DURATIONS.map((h) => ({ value: String(h), label: durationLabel(h) }))}
      />
      <InputField
        id="silence-reason"
        label={t.reason}
        value={reason}
        onValue={setReason}
        maxLength={500}
      />
    </ConfirmDialog>
  );
}
