import { useState } from "preact/hooks";
import type { Instance } from "../../core/schemas/naming.js";
import { API, type ServiceDetail } from "../api.js";
import { ConfirmDialog } from "../components/dialog.js";
import { ErrorNote, useAction, When } from "../components.js";
import { fmt, useI18n } from "../i18n/index.js";
import { useSession } from "../session.js";

type Pending = { kind: "disable" | "weight"; instance: Instance } | undefined;

/** A service's instances; operators can disable, enable and weigh each one. */
export function InstancesTable({
  detail,
  onChanged,
}: {
  detail: ServiceDetail;
  onChanged: () => void;
}) {
  const { t } = useI18n();
  const { can } = useSession();
  const operator = can("operator");
  const [pending, setPending] = useState<Pending>();
  const enable = useAction();
  const now = Date.now();

  return (
    <>
      {enable.error && <ErrorNote>{enable.error.message}</ErrorNote>}
      <div class="table-wrap">
        <table data-testid="instances">
          <thead>
            <tr>
              <th scope="col">{t.address}</th>
              <th scope="col">{t.health}</th>
              <th scope="col">{t.version}</th>
              <th scope="col">{t.labels}</th>
              <th scope="col" class="num">
                {t.weight}
              </th>
              <th scope="col">{t.traffic}</th>
              <th scope="col">{t.lastSeen}</th>
              {operator && <th scope="col">{t.actionsHeader}</th>}
            </tr>
          </thead>
          <tbody>
            {detail.instances.map((i) => (
              <tr key={i.addr}>
                <th scope="row">
                  <code>{i.addr}</code>
                </th>
                <td>
                  <HealthBadge instance={i} />
                </td>
                <td>{i.labels.version ?? <span class="muted">–</span>}</td>
                <td>
                  <Labels labels={i.labels} />
                </td>
                <td class="num">{i.weight}</td>
                <td>
                  {i.disabled ? (
                    <span class="badge badge-warn">{t.disabled}</span>
                  ) : (
                    <span class="badge badge-ok">{t.enabled}</span>
                  )}
                </td>
                <td>
                  <When at={i.lastSeenAt} now={now} />
                </td>
                {operator && (
                  <td class="row-actions">
                    {i.disabled ? (
                      <button
                        type="button"
                        aria-label={fmt(t.enableInstance, { addr: i.addr })}
                        disabled={enable.busy}
                        onClick={async () => {
                          if (await enable.run(() => API.setDisabled(i.service, i.addr, false))) {
                            onChanged();
                          }
                        }}
                      >
                        {t.enable}
                      </button>
                    ) : (
                      <button
                        type="button"
                        aria-label={fmt(t.disableInstance, { addr: i.addr })}
                        onClick={() => setPending({ kind: "disable", instance: i })}
                      >
                        {t.disable}
                      </button>
                    )}
                    <button
                      type="button"
                      aria-label={fmt(t.setWeightOf, { addr: i.addr })}
                      onClick={() => setPending({ kind: "weight", instance: i })}
                    >
                      {t.setWeight}
                    </button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {pending?.kind === "disable" && (
        <ConfirmDialog
          title={fmt(t.disableTitle, { addr: pending.instance.addr })}
          message={t.disableText}
          confirmLabel={t.disable}
          danger
          onConfirm={() => API.setDisabled(pending.instance.service, pending.instance.addr, true)}
          onClose={() => {
            setPending(undefined);
            onChanged();
          }}
        />
      )}
      {pending?.kind === "weight" && (
        <WeightDialog
          instance={pending.instance}
          onClose={() => {
            setPending(undefined);
            onChanged();
          }}
        />
      )}
    </>
  );
}

function HealthBadge({ instance: i }: { instance: Instance }) {
  const { t } = useI18n();
  const label = { healthy: t.healthy, unhealthy: t.unhealthy, draining: t.draining }[i.health];
  const cls = { healthy: "badge-ok", unhealthy: "badge-bad", draining: "badge-warn" }[i.health];
  return (
    <>
      <span class={`badge ${cls}`}>{label}</span>
      {i.protected && (
        <span class="badge badge-warn" title={t.protectedTitle}>
          {t.protectedBadge}
        </span>
      )}
    </>
  );
}

function Labels({ labels }: { labels: Record<string, string> }) {
  const entries = Object.entries(labels).filter(([k]) => k !== "version");
  if (entries.length === 0) return <span class="muted">–</span>;
  return (
    <ul class="chips">
      {entries.map(([k, v]) => (
        <li key={k}>
          <code>
            {k}={v}
          </code>
        </li>
      ))}
    </ul>
  );
}

function WeightDialog({ instance, onClose }: { instance: Instance; onClose: () => void }) {
  const { t } = useI18n();
  const [weight, setWeight] = useState(String(instance.weight));
  return (
    <ConfirmDialog
      title={fmt(t.weightTitle, { addr: instance.addr })}
      confirmLabel={t.save}
      onConfirm={() => API.setWeight(instance.service, instance.addr, Number(weight))}
      onClose={onClose}
    >
      <div class="field">
        <label htmlFor="weight-input">{t.weight}</label>
        <input
          id="weight-input"
          type="number"
          inputMode="numeric"
          min={0}
          max={10000}
          step={1}
          required
          value={weight}
          onInput={(e) => setWeight(e.currentTarget.value)}
          aria-describedby="weight-hint"
        />
        <small class="hint" id="weight-hint">
          {t.weightHint}
        </small>
      </div>
    </ConfirmDialog>
  );
}
