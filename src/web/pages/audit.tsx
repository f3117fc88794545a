import { useState } from "preact/hooks";
import type { AuditEntry } from "../../core/schemas/auth.js";
import { api, errorText } from "../api.js";
import { LoadError, PageTitle, useLoad } from "../components.js";
import { useI18n } from "../i18n/index.js";

const PAGE = 50;

export function AuditPage() {
  const { t, lang } = useI18n();
  const first = useLoad(() => api<{ entries: AuditEntry[] }>("GET", `/audit?limit=${PAGE}`));
  const [older, setOlder] = useState<AuditEntry[]>([]);
  const [more, setMore] = useState<{ busy: boolean; done: boolean; error?: string }>({
    busy: false,
    done: false,
  });

  const entries = [...(first.data?.entries ?? []), ...older];
  const hasMore = !more.done && (older.length > 0 || first.data?.entries.length === PAGE);

  const reload = () => {
    setOlder([]);
    setMore({ busy: false, done: false });
    first.reload();
  };

  const loadOlder = async () => {
    const last = entries[entries.length - 1];
    if (!last) return;
    setMore({ busy: true, done: false });
    try {
      const page = await api<{ entries: AuditEntry[] }>(
        "GET",
        `/audit?limit=${PAGE}&before=${last.id}`,
      );
      setOlder((o) => [...o, ...page.entries]);
      setMore({ busy: false, done: page.entries.length < PAGE });
    } catch (e) {
      setMore({ busy: false, done: false, error: errorText(e, t.networkError) });
    }
  };

  return (
    <>
      <PageTitle
        actions={
          <button type="button" onClick={reload} disabled={first.loading}>
            {t.refresh}
          </button>
        }
      >
        {t.auditTitle}
      </PageTitle>
      {first.error !== undefined && <LoadError error={first.error} onRetry={first.reload} />}
      {first.loading && !first.data && <p class="muted">{t.loading}</p>}
      {first.data && entries.length === 0 && <p class="muted">{t.noEntries}</p>}
      {entries.length > 0 && (
        <div class="table-wrap">
          <table class="audit">
            <thead>
              <tr>
                <th scope="col">{t.time}</th>
                <th scope="col">{t.actor}</th>
                <th scope="col">{t.action}</th>
                <th scope="col">{t.target}</th>
                <th scope="col">{t.source}</th>
                <th scope="col">{t.outcome}</th>
                <th scope="col">{t.details}</th>
              </tr>
            </thead>
            <tbody>
              {entries.map((e) => (
                <tr key={e.id}>
                  <td class="nowrap">{new Date(e.at).toLocaleString(lang)}</td>
                  <td>{e.actor}</td>
                  <td>
                    <code>{e.action}</code>
                  </td>
                  <td>{e.target}</td>
                  <td>{e.sourceIp}</td>
                  <td>
                    <span class={`badge badge-${e.outcome === "ok" ? "ok" : "bad"}`}>
                      {e.outcome}
                    </span>
                  </td>
                  <td class="details">
                    {Object.keys(e.details).length > 0 ? JSON.stringify(e.details) : ""}
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
    </>
  );
}
