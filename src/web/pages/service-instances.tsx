import { useState } from "preact/hooks";
import type { Instance } from "../../core/schemas/naming.js";
import { API, type ServiceDetail } from "../api.js";
import { ConfirmDialog, useDialog } from "../components/dialog.js";
import { FormErrorNote, InputField } from "../components/field.js";
import { LabelChips } from "../components/labels.js";
import { orDash, Table } from "../components/table.js";
import { useAction, When } from "../components.js";
import { fmt, useI18n } from "../i18n/index.js";
import { useSession } from "../session.js";

type Pending = { kind: "disable" | "weight"; instance: Instance };

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
  const pending = useDialog<Pending>(onChanged);
  const enable = useAction();
  const now = Date.now();

  return (
    <>
      <FormErrorNote error={enable.error} />
      <Table
        testId="instances"
        columns={[
          t.address,
          t.health,
          t.version,
          t.labels,
          { label: t.weight, num: true },
          t.traffic,
          t.lastSeen,
          operator && t.actionsHeader,
        ]}
      >
        {detail.instances.map((i) => (
          <tr key={i.addr}>
            <th scope="row">
              <code>{i.addr}</code>
            </th>
            <td>
              <HealthBadge instance={i} />
            </td>
            <td>{orDash(i.labels.version)}</td>
            <td>
              <LabelChips labels={i.labels} skip={["version"]} />
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
                    onClick={() => pending.show({ kind: "disable", instance: i })}
                  >
                    {t.disable}
                  </button>
                )}
                <button
                  type="button"
                  aria-label={fmt(t.setWeightOf, { addr: i.addr })}
                  onClick={() => pending.show({ kind: "weight", instance: i })}
                >
                  {t.setWeight}
                </button>
              </td>
            )}
          </tr>
        ))}
      </Table>
      {pending.render(({ kind, instance }) =>
        kind === "disable" ? (
          <ConfirmDialog
            title={fmt(t.disableTitle, { addr: instance.addr })}
            message={t.disableText}
            confirmLabel={t.disable}
            danger
            onConfirm={() => API.setDisabled(instance.service, instance.addr, true)}
            onClose={pending.close}
          />
        ) : (
          <WeightDialog instance={instance} onClose={pending.close} />
        ),
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
      <InputField
        id="weight-input"
        type="number"
        label={t.weight}
        hint={t.weightHint}
        min={0}
        max={10000}
        step={1}
        required
        value={weight}
        onValue={setWeight}
      />
    </ConfirmDialog>
  );
}
