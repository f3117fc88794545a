import { useState } from "preact/hooks";
import type { InstanceState, MachineView, ServiceReport } from "../../core/schemas/machine.js";
import { API } from "../api.js";
import { ConfirmDialog, useDialog } from "../components/dialog.js";
import { LabelsField, labelsText, parseLabels } from "../components/labels.js";
import { DataTable, orDash } from "../components/table.js";
import { PageTitle, useLoad, usePoll, When } from "../components.js";
import type { Messages } from "../i18n/en.js";
import { fmt, useI18n } from "../i18n/index.js";
import { to } from "../router.js";
import { useSession } from "../session.js";
import { JoinTokens } from "./machine-tokens.js";

const REFRESH_MS = 10_000;

/** Every machine: is its agent there, its labels, and what runs on it at which versions. */
export function MachinesPage() {
  const { t } = useI18n();
  const { can } = useSession();
  const machines = useLoad(() => API.machines());
  // Join tokens are read again with the machines (a machine enrolling uses one up).
  const [round, setRound] = useState(0);
  const refresh = () => {
    machines.reload();
    setRound((r) => r + 1);
  };
  usePoll(refresh, REFRESH_MS);
  const editing = useDialog<MachineView>(machines.reload);
  const removing = useDialog<MachineView>(machines.reload);
  const operator = can("operator");
  const admin = can("admin");
  const now = Date.now();

  return (
    <>
      <PageTitle
        actions={
          <button type="button" onClick={refresh} disabled={machines.loading}>
            {t.refresh}
          </button>
        }
      >
        {t.machinesTitle}
      </PageTitle>
      <p class="muted">{t.machinesIntro}</p>
      <DataTable
        load={machines}
        rows={(d) => d.machines}
        empty={t.noMachines}
        testId="machines"
        columns={[
          t.machine,
          t.status,
          t.labels,
          t.desiredState,
          t.runningServices,
          operator && t.actionsHeader,
        ]}
        row={(m) => (
          <tr key={m.name}>
            <th scope="row">
              {m.name}
              <div class="muted small">
                {m.hostname}
                {m.agentVersion && ` · ${fmt(t.agentVersion, { version: m.agentVersion })}`}
              </div>
            </th>
            <td>
              <span class={`badge ${m.online ? "badge-ok" : "badge-bad"}`}>
                {m.online ? t.online : t.offline}
              </span>
              <div class="muted small">
                {m.lastSeenAt ? <When at={m.lastSeenAt} now={now} /> : t.neverSeen}
              </div>
            </td>
            <td>{orDash(labelsText(m.labels))}</td>
            <td>
              {m.appliedRevision >= m.desiredRevision ? (
                <span class="badge badge-ok">{t.inSync}</span>
              ) : (
                <span class="badge badge-warn">
                  {fmt(t.applying, {
                    applied: String(m.appliedRevision),
                    desired: String(m.desiredRevision),
                  })}
                </span>
              )}
            </td>
            <td>
              <Services machine={m} />
            </td>
            {operator && (
              <td class="row-actions">
                <button
                  type="button"
                  aria-label={fmt(t.editLabelsOf, { name: m.name })}
                  onClick={() => editing.show(m)}
                >
                  {t.editLabels}
                </button>
                {admin && (
                  <button
                    type="button"
                    class="link danger-link"
                    aria-label={fmt(t.removeMachineN, { name: m.name })}
                    onClick={() => removing.show(m)}
                  >
                    {t.remove}
                  </button>
                )}
              </td>
            )}
          </tr>
        )}
      />
      {admin && <JoinTokens round={round} />}
      {editing.render((m) => (
        <LabelsDialog machine={m} onClose={editing.close} />
      ))}
      {removing.render((m) => (
        <ConfirmDialog
          title={fmt(t.removeMachineTitle, { name: m.name })}
          message={t.removeMachineText}
          confirmLabel={t.remove}
          danger
          onConfirm={() => API.removeMachine(m.name)}
          onClose={removing.close}
        />
      ))}
    </>
  );
}

function stateLabel(t: Messages, s: InstanceState): string {
  return {
    starting: t.procStarting,
    healthy: t.healthy,
    unhealthy: t.unhealthy,
    crashed: t.procCrashed,
    stopped: t.procStopped,
  }[s];
}

const STATE_BADGE: Record<InstanceState, string> = {
  starting: "badge badge-warn",
  healthy: "badge badge-ok",
  unhealthy: "badge badge-bad",
  crashed: "badge badge-bad",
  stopped: "badge",
};

/** What the console wants here, and what the agent reports running. */
function Services({ machine: m }: { machine: MachineView }) {
  const { t } = useI18n();
  const reports = new Map(m.services.map((s) => [s.service, s]));
  const names = [...new Set([...m.deployments.map((d) => d.service), ...reports.keys()])].sort();
  if (names.length === 0) return <span class="muted">{t.nothingDeployed}</span>;
  return (
    <ul class="plain-list">
      {names.map((name) => {
        const want = m.deployments.find((d) => d.service === name);
        const report: ServiceReport | undefined = reports.get(name);
        const run = report?.running;
        return (
          <li key={name}>
            <a href={to.service(name)}>{name}</a>{" "}
            {run ? (
              <>
                <span class={STATE_BADGE[run.state]}>{stateLabel(t, run.state)}</span>{" "}
                <span class="muted small">
                  v{run.versions.package}
                  {run.addr && ` · ${run.addr}`}
                  {run.restarts > 0 && ` · ${fmt(t.restarts, { n: String(run.restarts) })}`}
                </span>
              </>
            ) : (
              <span class="badge">{t.notRunning}</span>
            )}
            {report?.target && (
              <div class={report.target.phase === "failed" ? "text-bad small" : "muted small"}>
                {report.target.phase === "failed"
                  ? fmt(t.deployFailed, {
                      version: String(report.target.versions.package),
                      error: report.target.error ?? "",
                    })
                  : fmt(t.deploying, { version: String(report.target.versions.package) })}
              </div>
            )}
            {want && run && want.package.version !== run.versions.package && !report?.target && (
              <div class="muted small">
                {fmt(t.wantsVersion, { version: String(want.package.version) })}
              </div>
            )}
          </li>
        );
      })}
    </ul>
  );
}

function LabelsDialog({ machine, onClose }: { machine: MachineView; onClose: () => void }) {
  const { t } = useI18n();
  const [text, setText] = useState(labelsText(machine.labels));
  const submit = () => {
    const next = parseLabels(text);
    const changes: Record<string, string | null> = { ...next };
    for (const k of Object.keys(machine.labels)) if (!(k in next)) changes[k] = null;
    return API.setMachineLabels(machine.name, changes);
  };
  return (
    <ConfirmDialog
      title={fmt(t.editLabelsOf, { name: machine.name })}
      confirmLabel={t.save}
      onConfirm={submit}
      onClose={onClose}
    >
      <LabelsField
        id="machine-labels"
        label={t.labels}
        value={text}
        onValue={setText}
        hint={t.labelsHint}
      />
    </ConfirmDialog>
  );
}
