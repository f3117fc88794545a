import { useState } from "preact/hooks";
import type { AlarmEventType } from "../../core/schemas/alarm.js";
import { instanceLabel } from "../alarm-text.js";
import { API } from "../api.js";
import { SeverityBadge } from "../components/badges.js";
import { Modal, useDialog } from "../components/dialog.js";
import { LoadOlder, usePaged } from "../components/paged.js";
import { DataTable, orDash } from "../components/table.js";
import { LoadState, useLoad } from "../components.js";
import type { Messages } from "../i18n/en.js";
import { fmt, useI18n } from "../i18n/index.js";
import { to } from "../router.js";

type StateFilter = "all" | "firing" | "resolved";

/** Every alarm, newest first, paged; each one's events on demand. */
export function HistoryTab({ service }: { service: string | undefined }) {
  const { t, f } = useI18n();
  const [state, setState] = useState<StateFilter>("all");
  const alarms = usePaged(
    (before, limit) =>
      API.alarms({ service, state: state === "all" ? undefined : state, before, limit }).then(
        (r) => r.alarms,
      ),
    [service, state],
  );
  const events = useDialog<number>();

  return (
    <>
      <div class="toolbar">
        <label class="inline-field">
          <span>{t.state}</span>
          <select value={state} onChange={(e) => setState(e.currentTarget.value as StateFilter)}>
            <option value="all">{t.allStates}</option>
            <option value="firing">{t.stateFiring}</option>
            <option value="resolved">{t.stateResolved}</option>
          </select>
        </label>
      </div>
      <DataTable
        load={alarms.first}
        rows={() => alarms.items}
        empty={t.noAlarms}
        testId="history"
        columns={[
          "#",
          t.severity,
          t.service,
          t.attribute,
          t.message,
          t.firedAt,
          t.resolvedAt,
          t.acknowledged,
          { label: t.events, hidden: true },
        ]}
        row={(a) => (
          <tr key={a.id}>
            <td>{a.id}</td>
            <td>
              <SeverityBadge severity={a.severity} />
            </td>
            <td>
              <a href={to.service(a.service)}>{a.service}</a>
            </td>
            <td>
              {a.attr}
              <div class="muted small">{instanceLabel(t, a.instance)}</div>
            </td>
            <td>{a.message}</td>
            <td class="nowrap">{f.dateTime(a.firedAt)}</td>
            <td class="nowrap">
              {a.resolvedAt ? (
                f.dateTime(a.resolvedAt)
              ) : (
                <span class="badge badge-bad">{t.stateFiring}</span>
              )}
            </td>
            <td>{orDash(a.ackedBy)}</td>
            <td>
              <button type="button" class="link" onClick={() => events.show(a.id)}>
                {t.events}
              </button>
            </td>
          </tr>
        )}
      />
      <LoadOlder paged={alarms} />
      {events.render((id) => (
        <AlarmEventsDialog id={id} onClose={events.close} />
      ))}
    </>
  );
}

function eventLabel(t: Messages, e: AlarmEventType): string {
  return {
    firing: t.evFiring,
    repeat: t.evRepeat,
    resolved: t.evResolved,
    acked: t.evAcked,
    suppressed: t.evSuppressed,
    notified: t.evNotified,
    notify_failed: t.evNotifyFailed,
  }[e];
}

export function AlarmEventsDialog({ id, onClose }: { id: number; onClose: () => void }) {
  const { t, f } = useI18n();
  const detail = useLoad(() => API.alarm(id), [id]);
  return (
    <Modal title={fmt(t.eventsTitle, { id: String(id) })} onClose={onClose} wide>
      <LoadState load={detail} empty={t.noEntries} isEmpty={(d) => d.events.length === 0} />
      {detail.data && (
        <>
          <p>{detail.data.alarm.message}</p>
          <ol class="events">
            {detail.data.events.map((e) => (
              <li key={e.id}>
                <span class="nowrap">{f.dateTimeSeconds(e.at)}</span>{" "}
                <strong>{eventLabel(t, e.type)}</strong>
                {Object.keys(e.details).length > 0 && (
                  <code class="details"> {JSON.stringify(e.details)}</code>
                )}
              </li>
            ))}
          </ol>
        </>
      )}
      <div class="actions">
        <button type="button" onClick={onClose}>
          {t.close}
        </button>
      </div>
    </Modal>
  );
}
