import { useRef } from "preact/hooks";
import { allowedActions } from "../../core/release-actions.js";
import type { ReleaseAction, ReleaseStepView, ReleaseView } from "../../core/schemas/release.js";
import { API } from "../api.js";
import { ReleaseStateBadge } from "../components/badges.js";
import { ConfirmDialog, useDialog } from "../components/dialog.js";
import { Table } from "../components/table.js";
import { LoadState, PageTitle, useLoad, usePoll, When } from "../components.js";
import { fmt, useI18n } from "../i18n/index.js";
import {
  actionLabel,
  actionText,
  batchText,
  phaseBadge,
  phaseLabel,
  releaseTypeLabel,
  targetsText,
  versionsText,
} from "../release-text.js";
import { to } from "../router.js";
import { useSession } from "../session.js";

const LIVE = new Set(["running", "paused", "rolling_back"]);

/** One release plan, followed live: each batch and each machine's step; the operator's actions. */
export function ReleasePage({ id }: { id: number }) {
  const { t } = useI18n();
  const rel = useLoad(() => API.release(id), [id]);
  // Every second while it moves; every ten otherwise (someone else may act on it).
  const ticks = useRef(0);
  usePoll(() => {
    ticks.current++;
    if ((rel.data && LIVE.has(rel.data.state)) || ticks.current % 10 === 0) rel.reload();
  }, 1000);
  return (
    <>
      <p class="crumbs">
        <a href={to.releases()}>{t.releasesTitle}</a> / <span>#{id}</span>
      </p>
      <PageTitle>
        {fmt(t.releaseTitle, { id: String(id), service: rel.data?.service ?? "" })}
      </PageTitle>
      {!rel.data && <LoadState load={rel} />}
      {rel.data && <ReleaseDetail release={rel.data} onChanged={rel.reload} />}
    </>
  );
}

function ReleaseDetail({ release: r, onChanged }: { release: ReleaseView; onChanged: () => void }) {
  const { t, f } = useI18n();
  const { can } = useSession();
  const pending = useDialog<ReleaseAction>(onChanged);
  const allowed = allowedActions(r.state);
  const s = r.spec;
  return (
    <>
      <div class="toolbar" data-testid="release-state">
        <ReleaseStateBadge state={r.state} />
        {r.pausedFor === "approval" && <span class="muted">{t.waitingApproval}</span>}
        {r.pausedFor === "operator" && <span class="muted">{t.pausedByOperator}</span>}
        {r.gateUntil && (
          <span class="muted">
            {t.gatePasses} <When at={r.gateUntil} />
          </span>
        )}
        <span class="spacer" />
        {can("operator") &&
          allowed.map((a) => (
            <button
              key={a}
              type="button"
              class={
                a === "execute" || a === "resume"
                  ? "primary"
                  : a === "abort" || a === "rollback"
                    ? "danger"
                    : undefined
              }
              onClick={() => pending.show(a)}
            >
              {actionLabel(t, a)}
            </button>
          ))}
      </div>
      {r.error && <p class="note note-error">{r.error}</p>}
      <section class="card" aria-labelledby="plan-title">
        <h2 id="plan-title">{t.planTitle}</h2>
        <dl class="facts">
          <dt>{t.service}</dt>
          <dd>
            <a href={to.service(r.service)}>{r.service}</a>
          </dd>
          <dt>{t.releaseType}</dt>
          <dd>{releaseTypeLabel(t, r.type)}</dd>
          <dt>{t.versions}</dt>
          <dd>{versionsText(t, s.versions)}</dd>
          <dt>{t.targets}</dt>
          <dd>{targetsText(t, s.targets)}</dd>
          <dt>{t.batches}</dt>
          <dd>{s.batches.map((b) => batchText(t, b)).join(" → ")}</dd>
          <dt>{t.gate}</dt>
          <dd>
            {fmt(t.gateHealth, { seconds: f.number(s.gate.healthSeconds) })}
            {s.gate.approval && ` · ${t.gateApproval}`}
          </dd>
          <dt>{t.canaryWeight}</dt>
          <dd>{s.canaryWeight ?? t.fullWeight}</dd>
          <dt>{t.deployTimeoutFact}</dt>
          <dd>{f.duration(s.deployTimeoutSeconds, "second")}</dd>
          {r.note && (
            <>
              <dt>{t.note}</dt>
              <dd>{r.note}</dd>
            </>
          )}
          <dt>{t.created}</dt>
          <dd>
            {f.dateTime(r.createdAt)} · {r.createdBy}
          </dd>
          {r.startedAt && (
            <>
              <dt>{t.started}</dt>
              <dd>{f.dateTime(r.startedAt)}</dd>
            </>
          )}
          {r.endedAt && (
            <>
              <dt>{t.ended}</dt>
              <dd>{f.dateTime(r.endedAt)}</dd>
            </>
          )}
        </dl>
      </section>
      <Batches release={r} />
      <Steps steps={r.steps} />
      {pending.render((a) => (
        <ConfirmDialog
          title={fmt(t.actionTitle, { action: actionLabel(t, a), id: String(r.id) })}
          message={actionText(t, a)}
          confirmLabel={actionLabel(t, a)}
          danger={a === "abort" || a === "rollback"}
          onConfirm={() => API.releaseAction(r.id, a)}
          onClose={pending.close}
        />
      ))}
    </>
  );
}

export function stepVersions(v: ReleaseStepView["from"]): string {
  if (v === null) return "–";
  const extra = [...v.configs, ...v.libs, ...v.plugins];
  return extra.length > 0
    ? `v${v.package} (${extra.map((x) => `v${x}`).join(", ")})`
    : `v${v.package}`;
}

const STEP_BADGE = {
  running: "badge badge-run",
  succeeded: "badge badge-ok",
  failed: "badge badge-bad",
} as const;

function StepBadge({ step }: { step: ReleaseStepView }) {
  const { t } = useI18n();
  const label = { running: t.stepRunning, succeeded: t.stepSucceeded, failed: t.stepFailed };
  return <span class={STEP_BADGE[step.state]}>{label[step.state]}</span>;
}

function Batches({ release: r }: { release: ReleaseView }) {
  const { t } = useI18n();
  if (r.batches.length === 0) {
    return (
      <section aria-labelledby="batches-title">
        <h2 id="batches-title">{t.batches}</h2>
        <p class="empty">{t.batchesAtExecute}</p>
      </section>
    );
  }
  return (
    <section aria-labelledby="batches-title">
      <h2 id="batches-title">{t.batches}</h2>
      <ol class="batches">
        {r.batches.map((b) => (
          <li key={b.index} class="card batch" data-testid={`batch-${b.index}`}>
            <div class="section-head">
              <h3>{fmt(t.batchN, { n: String(b.index + 1) })}</h3>
              <span class={phaseBadge(b.phase)}>{phaseLabel(t, b.phase)}</span>
            </div>
            <ul class="plain-list">
              {b.machines.map((m) => {
                const step = r.steps.filter((s) => s.batch === b.index && s.machine === m).at(-1);
                return (
                  <li key={m}>
                    <strong>{m}</strong>{" "}
                    {step ? (
                      <>
                        <StepBadge step={step} />{" "}
                        <span class="muted small">
                          {step.action === "rollback" ? `${t.stepRollback} · ` : ""}
                          {stepVersions(step.from)} → {stepVersions(step.to)}
                        </span>
                        {step.error && <div class="text-bad small">{step.error}</div>}
                      </>
                    ) : (
                      <span class="muted small">{t.stepWaiting}</span>
                    )}
                  </li>
                );
              })}
            </ul>
          </li>
        ))}
      </ol>
    </section>
  );
}

function Steps({ steps }: { steps: ReleaseStepView[] }) {
  const { t, f } = useI18n();
  if (steps.length === 0) return null;
  return (
    <section aria-labelledby="steps-title">
      <h2 id="steps-title">{t.stepsTitle}</h2>
      <Table
        testId="steps"
        columns={[t.batchHeader, t.machine, t.action, t.state, t.versions, t.started, t.ended]}
      >
        {steps.map((s) => (
          <tr key={s.id}>
            <td>{s.batch + 1}</td>
            <td>{s.machine}</td>
            <td>{s.action === "rollback" ? t.stepRollback : t.stepDeploy}</td>
            <td>
              <StepBadge step={s} />
              {s.error && <div class="text-bad small">{s.error}</div>}
            </td>
            <td class="nowrap">
              {stepVersions(s.from)} → {stepVersions(s.to)}
            </td>
            <td class="nowrap">{f.dateTimeSeconds(s.startedAt)}</td>
            <td class="nowrap">{s.endedAt ? f.dateTimeSeconds(s.endedAt) : "–"}</td>
          </tr>
        ))}
      </Table>
    </section>
  );
}
