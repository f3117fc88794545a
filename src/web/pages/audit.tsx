import type { AuditEntry } from "../../core/schemas/auth.js";
import { api, query } from "../api.js";
import { LoadOlder, usePaged } from "../components/paged.js";
import { DataTable } from "../components/table.js";
import { PageTitle } from "../components.js";
import { useI18n } from "../i18n/index.js";

export function AuditPage() {
  const { t, lang } = useI18n();
  const entries = usePaged((before, limit) =>
    api<{ entries: AuditEntry[] }>("GET", `/audit${query({ limit, before })}`).then(
      (r) => r.entries,
    ),
  );

  return (
    <>
      <PageTitle
        actions={
          <button type="button" onClick={entries.reload} disabled={entries.first.loading}>
            {t.refresh}
          </button>
        }
      >
        {t.auditTitle}
      </PageTitle>
      <DataTable
        load={entries.first}
        rows={() => entries.items}
        empty={t.noEntries}
        class="audit"
        columns={[t.time, t.actor, t.action, t.target, t.source, t.outcome, t.details]}
        row={(e) => (
          <tr key={e.id}>
            <td class="nowrap">{new Date(e.at).toLocaleString(lang)}</td>
            <td>{e.actor}</td>
            <td>
              <code>{e.action}</code>
            </td>
            <td>{e.target}</td>
            <td>{e.sourceIp}</td>
            <td>
              <span class={`badge badge-${e.outcome === "ok" ? "ok" : "bad"}`}>{e.outcome}</span>
            </td>
            <td class="details">
              {Object.keys(e.details).length > 0 ? JSON.stringify(e.details) : ""}
            </td>
          </tr>
        )}
      />
      <LoadOlder paged={entries} />
    </>
  );
}
