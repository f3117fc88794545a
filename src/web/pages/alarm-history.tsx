import { useState } from "preact/hooks";
import type { Alarm, AlarmEventType } from "../../core/schemas/alarm.js";
import { instanceLabel, severityBadge, severityLabel } from "../alarm-text.js";
import { API, errorText } from "../api.js";
import { Modal } from "../components/dialog.js";
import { LoadState, useLoad } from "../components.js";
import type { Messages } from "../i18n/en.js";
import { fmt, useI18n } from "../i18n/index.js";
import { to } from "../router.js";

const PAGE = 50;

type StateFilter = "all" | "firing" | "resolved";

/** Every alarm, newest first, paged; each one's events on demand. */
export function HistoryTab({ service }: { service: string | undefined }) {
  const { t, f } = useI18n();
  const [state, setState] = useState<StateFilter>("all");
  const first = useLoad(
    () => API.alarms({ service, state: state === "all" ? undefined : state, limit: PAGE }),
    [service, state],
  );
  const [older, setOlder] = useState<Alarm[]>([]);
  const [more, setMore] = useState<{ busy: boolean; done: boolean; error?: string }>({
    busy: false,
    done: false,
  });
  const [events, setEvents] = useState<number>();
  const alarms = [...(first.data?.alarms ?? []), ...older];
  const hasMore = !more.done && (older.length > 0 || first.data?.alarms.length === PAGE);

  const loadOlder = async () => {
    const last = alarms.at(-1);
    if (!last) return;
    setMore({ busy: true, done: false });
    try {
      const page = await API.alarms({
        service,
        state: state === "all" ? undefined : state,
        before: last.id,
        limit: PAGE,
      });
      setOlder((o) => [...o, ...page.alarms]);
      setMore({ busy: false, done: page.alarms.length < PAGE });
    } catch (e) {
      setMore({ busy: false, done: false, error: errorText(e, t.networkError) });
    }
  };

  return (
    <>
      <div class="toolbar">
        <label class="inline-field">
          <span>{t.state}</span>
          <select
            value={state}
            onChange={(e) => {
              setOlder([]);
              setMore({ busy: false, done: false });
              setState(e.currentTarget.value as StateFilter);
            }}
          >
            <option value="all">{t.allStates}</option>
            <option value="firing">{t.stateFiring}</option>
            <option value="resolved">{t.stateResolved}</option>
          </select>
        </label>
      </div>
      <LoadState load={first} empty={t.noAlarms} isEmpty={(d) => d.alarms.length === 0} />
      {alarms.length > 0 && (
        <div class="table-wrap">
          <table data-testid="history">
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">{t.severity}</th>
                <th scope="col">{t.service}</th>
                <th scope="col">{t.attribute}</th>
                <th scope="col">{t.message}</th>
                <th scope="col">{t.firedAt}</th>
                <th scope="col">{t.resolvedAt}</th>
                <th scope="col">{t.acknowledged}</th>
                <th scope="col">
                  <span class="visually-hidden">{t.events}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {alarms.map((a) => (
                <tr key={a.id}>
                  <td>{a.id}</td>
                  <td>
                    <span class={severityBadge(a.severity)}>{severityLabel(t, a.severity)}</span>
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
                  <td>{a.ackedBy ?? <span class="muted">–</span>}</td>
                  <td>
                    <button type="button" class="link" onClick={() => setEvents(a.id)}>
                      {t.events}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {more.error && <p class="note note-error">{more.error}</p>}
      {hasMore && (
        <div class="actions">
          <button type="button" onClick={loadOlder} disabled={more.busy}>
            {more.busy ? t.loading : t.loadOlder}
          </button>
        </div>
      )}
      {events !== undefined && (
        <AlarmEventsDialog id={events} onClose={() => setEvents(undefined)} />
      )}
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
