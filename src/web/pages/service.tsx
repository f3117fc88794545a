import { instanceLabel, ruleCondition } from "../alarm-text.js";
import { API, type ServiceDetail } from "../api.js";
import { RuleStateBadge, SeverityBadge } from "../components/badges.js";
import { DataTable } from "../components/table.js";
import { type Load, LoadState, PageTitle, useLoad, usePoll, When } from "../components.js";
import { fmt, useI18n } from "../i18n/index.js";
import { to } from "../router.js";
import { useSession } from "../session.js";
import { ArtifactsSection } from "./service-artifacts.js";
import { InstancesTable } from "./service-instances.js";

const REFRESH_MS = 10_000;

/** One service: its instances (with operator controls), alarms and rules, artifacts. */
export function ServicePage({ name }: { name: string }) {
  const { t, f } = useI18n();
  const detail = useLoad(() => API.service(name), [name]);
  usePoll(detail.reload, REFRESH_MS);
  const d = detail.data;
  return (
    <>
      <p class="crumbs">
        <a href={to.services()}>{t.servicesTitle}</a> / <span>{name}</span>
      </p>
      <PageTitle
        actions={
          <div class="actions tight">
            <a class="button" href={to.monitor(name)}>
              {t.openMonitor}
            </a>
            <a class="button" href={to.alarms("rules", { service: name })}>
              {t.alarmRules}
            </a>
            <a class="button" href={to.releases({ service: name })}>
              {t.releasesTitle}
            </a>
          </div>
        }
      >
        {name}
      </PageTitle>
      {d && (
        <p class="muted">
          {d.description ? `${d.description} · ` : ""}
          {fmt(t.createdOn, { date: f.dateTime(d.createdAt) })}
        </p>
      )}
      <section aria-labelledby="instances-title">
        <h2 id="instances-title">{t.instancesTitle}</h2>
        <Instances detail={detail} />
      </section>
      <ServiceAlarms service={name} />
      <ArtifactsSection service={name} />
    </>
  );
}

function Instances({ detail }: { detail: Load<ServiceDetail> }) {
  const { t } = useI18n();
  const d = detail.data;
  return (
    <>
      <LoadState load={detail} empty={t.noInstances} isEmpty={(x) => x.instances.length === 0} />
      {d?.protected && <p class="note note-warn">{t.protectedNote}</p>}
      {d && d.instances.length > 0 && <InstancesTable detail={d} onChanged={detail.reload} />}
    </>
  );
}

function ServiceAlarms({ service }: { service: string }) {
  const { t, f } = useI18n();
  const { can } = useSession();
  const firing = useLoad(() => API.alarms({ state: "firing", service, limit: 100 }), [service]);
  const rules = useLoad(() => API.rules(service), [service]);
  usePoll(() => {
    firing.reload();
    rules.reload();
  }, REFRESH_MS);
  return (
    <section aria-labelledby="alarms-title">
      <div class="section-head">
        <h2 id="alarms-title">{t.alarmsTitle}</h2>
        {can("operator") && (
          <a class="button" href={to.rule("new", { service })}>
            {t.newRule}
          </a>
        )}
      </div>
      {firing.data && firing.data.alarms.length > 0 && (
        <ul class="alarm-list" aria-label={t.firingNow}>
          {firing.data.alarms.map((a) => (
            <li key={a.id}>
              <SeverityBadge severity={a.severity} />{" "}
              <a href={to.alarms("firing", { service })}>{a.message}</a>{" "}
              <span class="muted">
                · <When at={a.firedAt} />
              </span>
            </li>
          ))}
        </ul>
      )}
      <DataTable
        load={rules}
        rows={(d) => d.rules}
        empty={t.noRulesForService}
        columns={[t.attribute, t.instance, t.condition, t.severity, t.state]}
        row={(r) => (
          <tr key={r.id}>
            <td>
              <a href={to.rule(r.id)}>{r.attr}</a>
            </td>
            <td>{instanceLabel(t, r.instance)}</td>
            <td>{ruleCondition(t, f, r)}</td>
            <td>
              <SeverityBadge severity={r.severity} />
            </td>
            <td>
              <RuleStateBadge rule={r} />
            </td>
          </tr>
        )}
      />
    </section>
  );
}
