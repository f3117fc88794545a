import { useState } from "preact/hooks";
import type { Silence } from "../../core/schemas/alarm.js";
import { API } from "../api.js";
import { ConfirmDialog } from "../components/dialog.js";
import { LoadState, useLoad, When } from "../components.js";
import { fmt, useI18n } from "../i18n/index.js";
import { useSession } from "../session.js";

const HOUR = 3_600_000;
const DURATIONS = [0.5, 1, 4, 24, 72, 168] as const;

/** Silences in force (or all); operators add and lift them. */
export function SilencesTab() {
  const { t, f } = useI18n();
  const { can } = useSession();
  const [all, setAll] = useState(false);
  const silences = useLoad(() => API.silences(all), [all]);
  const [adding, setAdding] = useState(false);
  const [lifting, setLifting] = useState<Silence>();
  const now = Date.now();
  return (
    <>
      <div class="toolbar">
        <label class="check">
          <input type="checkbox" checked={all} onChange={(e) => setAll(e.currentTarget.checked)} />{" "}
          {t.showExpired}
        </label>
        <span class="spacer" />
        {can("operator") && (
          <button type="button" class="primary" onClick={() => setAdding(true)}>
            {t.newSilence}
          </button>
        )}
      </div>
      <LoadState load={silences} empty={t.noSilences} isEmpty={(d) => d.silences.length === 0} />
      {silences.data && silences.data.silences.length > 0 && (
        <div class="table-wrap">
          <table data-testid="silences">
            <thead>
              <tr>
                <th scope="col">{t.matches}</th>
                <th scope="col">{t.until}</th>
                <th scope="col">{t.reason}</th>
                <th scope="col">{t.createdBy}</th>
                {can("operator") && <th scope="col">{t.actionsHeader}</th>}
              </tr>
            </thead>
            <tbody>
              {silences.data.silences.map((s) => (
                <tr key={s.id}>
                  <td>{matcherText(s, t.ruleNumber)}</td>
                  <td>
                    {f.dateTime(s.until)}{" "}
                    <span class="muted">
                      (<When at={s.until} now={now} />)
                    </span>
                  </td>
                  <td>{s.reason || <span class="muted">–</span>}</td>
                  <td>{s.createdBy}</td>
                  {can("operator") && (
                    <td>
                      {Date.parse(s.until) > now && (
                        <button type="button" onClick={() => setLifting(s)}>
                          {t.liftSilence}
                        </button>
                      )}
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {adding && (
        <SilenceDialog
          initial={{}}
          onClose={() => {
            setAdding(false);
            silences.reload();
          }}
        />
      )}
      {lifting && (
        <ConfirmDialog
          title={t.liftSilenceTitle}
          message={matcherText(lifting, t.ruleNumber)}
          confirmLabel={t.liftSilence}
          danger
          onConfirm={() => API.deleteSilence(lifting.id)}
          onClose={() => {
            setLifting(undefined);
            silences.reload();
          }}
        />
      )}
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
      <div class="field">
        <label htmlFor="silence-service">{t.service}</label>
        <input
          id="silence-service"
          value={service}
          onInput={(e) => setService(e.currentTarget.value)}
        />
      </div>
      <div class="field">
        <label htmlFor="silence-attr">{t.attribute}</label>
        <input id="silence-attr" value={attr} onInput={(e) => setAttr(e.currentTarget.value)} />
      </div>
      {initial.ruleId !== undefined && (
        <label class="check">
          <input
            type="checkbox"
            checked={onlyRule}
            onChange={(e) => setOnlyRule(e.currentTarget.checked)}
          />{" "}
          {fmt(t.onlyThisRule, { id: String(initial.ruleId) })}
        </label>
      )}
      <div class="field">
        <label htmlFor="silence-for">{t.silenceFor}</label>
        <select id="silence-for" value={hours} onChange={(e) => setHours(e.currentTarget.value)}>
          {DURATIONS.map((h) => (
            <option key={h} value={String(h)}>
              {durationLabel(h)}
            </option>
          ))}
        </select>
      </div>
      <div class="field">
        <label htmlFor="silence-reason">{t.reason}</label>
        <input
          id="silence-reason"
          maxLength={500}
          value={reason}
          onInput={(e) => setReason(e.currentTarget.value)}
        />
      </div>
    </ConfirmDialog>
  );
}
