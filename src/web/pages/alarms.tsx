import { useState } from "preact/hooks";
import type { Alarm } from "../../core/schemas/alarm.js";
import { instanceLabel } from "../alarm-text.js";
import { API } from "../api.js";
import { SeverityBadge } from "../components/badges.js";
import { ConfirmDialog, useDialog } from "../components/dialog.js";
import { InputField } from "../components/field.js";
import { DataTable } from "../components/table.js";
import { PageTitle, Tabs, useLoad, usePoll, When } from "../components.js";
import { fmt, useI18n } from "../i18n/index.js";
import { type AlarmTab, to } from "../router.js";
import { useSession } from "../session.js";
import { AlarmEventsDialog, HistoryTab } from "./alarm-history.js";
import { RulesTab } from "./alarm-rules.js";
import { SilenceDialog, SilencesTab } from "./silences.js";

const REFRESH_MS = 10_000;

/** Alarms: what fires now (ack, silence), the history, the rules, the silences. */
export function AlarmsPage({ tab, query }: { tab: AlarmTab; query: URLSearchParams }) {
  const { t } = useI18n();
  const service = query.get("service") ?? undefined;
  const firingCount = useLoad(() => API.alarms({ state: "firing", limit: 1000 }));
  usePoll(firingCount.reload, REFRESH_MS);
  const tabs: { tab: AlarmTab; label: string; count?: number | undefined }[] = [
    { tab: "firing", label: t.tabFiring, count: firingCount.data?.alarms.length },
    { tab: "history", label: t.tabHistory },
    { tab: "rules", label: t.tabRules },
    { tab: "silences", label: t.tabSilences },
  ];
  return (
    <>
      <PageTitle>{t.alarmsTitle}</PageTitle>
      <Tabs
        label={t.alarmsTitle}
        tabs={tabs.map((x) => ({
          href: to.alarms(x.tab, { service }),
          label: x.label,
          current: x.tab === tab,
          count: x.count,
        }))}
      />
      {service && (
        <p class="filter-chip">
          {fmt(t.onlyService, { service })}{" "}
          <a href={to.alarms(tab)} aria-label={t.clearFilter}>
            ✕
          </a>
        </p>
      )}
      {tab === "firing" && <FiringTab service={service} onChange={firingCount.reload} />}
      {tab === "history" && <HistoryTab service={service} />}
      {tab === "rules" && <RulesTab service={service} />}
      {tab === "silences" && <SilencesTab />}
    </>
  );
}

type Pending = { kind: "ack" | "silence" | "events"; alarm: Alarm };

function FiringTab({ service, onChange }: { service: string | undefined; onChange: () => void }) {
  const { t, f } = useI18n();
  const { can } = useSession();
  const operator = can("operator");
  const alarms = useLoad(() => API.alarms({ state: "firing", service, limit: 1000 }), [service]);
  usePoll(alarms.reload, REFRESH_MS);
  const pending = useDialog<Pending>(() => {
    alarms.reload();
    onChange();
  });
  const [comment, setComment] = useState("");
  const now = Date.now();

  return (
    <>
      <DataTable
        load={alarms}
        rows={(d) => d.alarms}
        empty={t.nothingFiring}
        testId="firing"
        columns={[
          t.severity,
          t.service,
          t.attribute,
          { label: t.value, num: true },
          t.message,
          t.firedAt,
          t.acknowledged,
          t.actionsHeader,
        ]}
        row={(a) => (
          <tr key={a.id}>
            <td>
              <SeverityBadge severity={a.severity} />
            </td>
            <td>
              <a href={to.service(a.service)}>{a.service}</a>
            </td>
            <td>
              <a
                href={to.monitor(a.service, {
                  attr: a.attr,
                  instance: a.instance === "*" ? undefined : a.instance,
                })}
              >
                {a.attr}
              </a>
              <div class="muted small">{instanceLabel(t, a.instance)}</div>
            </td>
            <td class="num">{a.value === null ? "–" : f.number(a.value)}</td>
            <td>{a.message}</td>
            <td>
              <When at={a.firedAt} now={now} />
            </td>
            <td>
              {a.ackedBy ? (
                <span class="badge badge-ok">{fmt(t.ackedBy, { user: a.ackedBy })}</span>
              ) : (
                <span class="muted">{t.notAcked}</span>
              )}
            </td>
            <td class="row-actions">
              {operator && !a.ackedBy && (
                <button
                  type="button"
                  aria-label={fmt(t.ackAlarm, { id: String(a.id) })}
                  onClick={() => {
                    setComment("");
                    pending.show({ kind: "ack", alarm: a });
                  }}
                >
                  {t.acknowledge}
                </button>
              )}
              {operator && (
                <button
                  type="button"
                  aria-label={fmt(t.silenceAlarm, { id: String(a.id) })}
                  onClick={() => pending.show({ kind: "silence", alarm: a })}
                >
                  {t.silence}
                </button>
              )}
              <button
                type="button"
                class="link"
                onClick={() => pending.show({ kind: "events", alarm: a })}
              >
                {t.events}
              </button>
            </td>
          </tr>
        )}
      />
      {pending.render(({ kind, alarm }) =>
        kind === "ack" ? (
          <ConfirmDialog
            title={fmt(t.ackTitle, { id: String(alarm.id) })}
            message={alarm.message}
            confirmLabel={t.acknowledge}
            onConfirm={() => API.ack(alarm.id, comment.trim() || undefined)}
            onClose={pending.close}
          >
            <InputField
              id="ack-comment"
              label={t.commentOptional}
              value={comment}
              onValue={setComment}
              maxLength={500}
            />
          </ConfirmDialog>
        ) : kind === "silence" ? (
          <SilenceDialog
            initial={{ service: alarm.service, attr: alarm.attr, ruleId: alarm.ruleId }}
            onClose={pending.close}
          />
        ) : (
          <AlarmEventsDialog id={alarm.id} onClose={pending.close} />
        ),
      )}
    </>
  );
}
