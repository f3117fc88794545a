import { useState } from "preact/hooks";
import type { ServiceSummary } from "../../core/schemas/naming.js";
import { API } from "../api.js";
import { LoadState, PageTitle, useLoad, usePoll } from "../components.js";
import { fmt, useI18n } from "../i18n/index.js";
import { type RpcMinute, rpcMinutes } from "../prom.js";
import { to } from "../router.js";

const REFRESH_MS = 15_000;

/** Every service with its health at a glance: instances up, calls, errors, firing alarms. */
export function ServicesPage() {
  const { t } = useI18n();
  const services = useLoad(() => API.services());
  const firing = useLoad(() => API.alarms({ state: "firing", limit: 1000 }));
  const rpc = useLoad(() => API.prometheus().then(rpcMinutes));
  const refresh = () => {
    services.reload();
    firing.reload();
    rpc.reload();
  };
  usePoll(refresh, REFRESH_MS);
  const [filter, setFilter] = useState("");

  const firingBy = new Map<string, number>();
  for (const a of firing.data?.alarms ?? []) {
    firingBy.set(a.service, (firingBy.get(a.service) ?? 0) + 1);
  }
  const needle = filter.trim().toLowerCase();
  const shown = (services.data?.services ?? []).filter((s) =>
    s.name.toLowerCase().includes(needle),
  );

  return (
    <>
      <PageTitle
        actions={
          <button type="button" onClick={refresh} disabled={services.loading}>
            {t.refresh}
          </button>
        }
      >
        {t.servicesTitle}
      </PageTitle>
      <p class="muted">{t.servicesIntro}</p>
      <LoadState load={services} empty={t.noServices} isEmpty={(d) => d.services.length === 0} />
      {services.data && services.data.services.length > 0 && (
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
              {fmt(t.servicesShown, {
                shown: String(shown.length),
                total: String(services.data.services.length),
              })}
            </span>
          </div>
          <div class="table-wrap">
            <table data-testid="services">
              <thead>
                <tr>
                  <th scope="col">{t.service}</th>
                  <th scope="col">{t.instancesUp}</th>
                  <th scope="col" class="num">
                    {t.callsPerMinute}
                  </th>
                  <th scope="col" class="num">
                    {t.errorRate}
                  </th>
                  <th scope="col">{t.firingAlarms}</th>
                  <th scope="col">
                    <span class="visually-hidden">{t.links}</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {shown.map((s) => (
                  <ServiceRow
                    key={s.name}
                    service={s}
                    rpc={rpc.data?.get(s.name)}
                    rpcKnown={rpc.data !== undefined}
                    firing={firing.data ? (firingBy.get(s.name) ?? 0) : undefined}
                  />
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </>
  );
}

function ServiceRow({
  service: s,
  rpc,
  rpcKnown,
  firing,
}: {
  service: ServiceSummary;
  rpc: RpcMinute | undefined;
  rpcKnown: boolean;
  firing: number | undefined;
}) {
  const { t, f } = useI18n();
  const health =
    s.instances === 0
      ? "none"
      : s.healthy === s.instances
        ? "ok"
        : s.healthy === 0
          ? "bad"
          : "warn";
  const dash = <span class="muted">–</span>;
  return (
    <tr>
      <th scope="row">
        <a href={to.service(s.name)}>{s.name}</a>
        {s.description && <div class="muted small">{s.description}</div>}
      </th>
      <td>
        <span
          class={`badge badge-${health}`}
          title={fmt(t.instancesUpTitle, {
            up: String(s.healthy),
            total: String(s.instances),
          })}
        >
          {fmt(t.upOfTotal, { up: f.number(s.healthy), total: f.number(s.instances) })}
        </span>
      </td>
      <td class="num">{rpc ? f.number(rpc.calls, 0) : rpcKnown ? f.number(0) : dash}</td>
      <td class="num">
        {rpc && rpc.calls > 0 ? (
          <span class={rpc.errors > 0 ? "text-bad" : undefined}>
            {f.percent(rpc.errors / rpc.calls)}
          </span>
        ) : (
          dash
        )}
      </td>
      <td>
        {firing === undefined ? (
          dash
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
