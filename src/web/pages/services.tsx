import { useState } from "preact/hooks";
import type { ServiceSummary } from "../../core/schemas/naming.js";
import { API } from "../api.js";
import { orDash, Table } from "../components/table.js";
import { LoadState, PageTitle, useLoad, usePoll } from "../components.js";
import { fmt, useI18n } from "../i18n/index.js";
import { to } from "../router.js";

const REFRESH_MS = 15_000;

/** Every service with its health at a glance: instances up, calls, errors, firing alarms. */
export function ServicesPage() {
  const { t } = useI18n();
  const services = useLoad(() => API.services());
  usePoll(services.reload, REFRESH_MS);
  const [filter, setFilter] = useState("");
  const all = services.data?.services ?? [];
  const needle = filter.trim().toLowerCase();
  const shown = all.filter((s) => s.name.toLowerCase().includes(needle));

  return (
    <>
      <PageTitle
        actions={
          <button type="button" onClick={services.reload} disabled={services.loading}>
            {t.refresh}
          </button>
        }
      >
        {t.servicesTitle}
      </PageTitle>
      <p class="muted">{t.servicesIntro}</p>
      <LoadState load={services} empty={t.noServices} isEmpty={(d) => d.services.length === 0} />
      {all.length > 0 && (
        <>
          <div class="toolbar">
            <label class="inline-field">
              <span>{t.filter}</span>
              <input
                type="search"
                value={filter}
                placeholder={t.filterServicesPlaceholder}
                onInput={(e) => setFilter(e.currentTarget.value)}
              />
            </label>
            <span class="muted" role="status">
              {fmt(t.servicesShown, { shown: String(shown.length), total: String(all.length) })}
            </span>
          </div>
          <Table
            testId="services"
            columns={[
              t.service,
              t.instancesUp,
              { label: t.callsPerMinute, num: true },
              { label: t.errorRate, num: true },
              t.firingAlarms,
              { label: t.links, hidden: true },
            ]}
          >
            {shown.map((s) => (
              <ServiceRow key={s.name} service={s} />
            ))}
          </Table>
        </>
      )}
    </>
  );
}

function ServiceRow({ service: s }: { service: ServiceSummary }) {
  const { t, f } = useI18n();
  const health =
    s.instances === 0
      ? "none"
      : s.healthy === s.instances
        ? "ok"
        : s.healthy === 0
          ? "bad"
          : "warn";
  const calls = s.callsPerMinute;
  const errors = s.errorsPerMinute ?? 0;
  const firing = s.firingAlarms;
  return (
    <tr>
      <th scope="row">
        <a href={to.service(s.name)}>{s.name}</a>
        {s.description && <div class="muted small">{s.description}</div>}
      </th>
      <td>
        <span
          class={`badge badge-${health}`}
          title={fmt(t.instancesUpTitle, { up: String(s.healthy), total: String(s.instances) })}
        >
          {fmt(t.upOfTotal, { up: f.number(s.healthy), total: f.number(s.instances) })}
        </span>
      </td>
      <td class="num">{orDash(calls === undefined ? undefined : f.number(calls, 0))}</td>
      <td class="num">
        {orDash(
          calls !== undefined && calls > 0 && (
            <span class={errors > 0 ? "text-bad" : undefined}>{f.percent(errors / calls)}</span>
          ),
        )}
      </td>
      <td>
        {firing === undefined ? (
          orDash(undefined)
        ) : firing > 0 ? (
          <a class="badge badge-bad" href={to.alarms("firing", { service: s.name })}>
            {fmt(t.firingCount, { n: f.number(firing) })}
          </a>
        ) : (
          <span class="badge badge-ok">{t.noneFiring}</span>
        )}
      </td>
      <td class="nowrap">
        <a href={to.monitor(s.name)}>{t.navMonitor}</a>
      </td>
    </tr>
  );
}
