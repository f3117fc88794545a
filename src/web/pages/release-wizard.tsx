import { useState } from "preact/hooks";
import type { BatchSize, CreateReleaseRequest, ReleaseView } from "../../core/schemas/release.js";
import { API } from "../api.js";
import { FormErrorNote, InputField } from "../components/field.js";
import { parseLabels } from "../components/labels.js";
import { PageTitle, useAction, useLoad } from "../components.js";
import { fmt, useI18n } from "../i18n/index.js";
import { batchText, releaseTypeLabel, targetsText, versionsText } from "../release-text.js";
import { navigate, to } from "../router.js";
import { useSession } from "../session.js";
import { type Draft, HowStep, WhatStep, WhereStep } from "./release-wizard-steps.js";

const STEPS = ["what", "where", "how", "review"] as const;
type Step = (typeof STEPS)[number];

const int = (s: string) => Number(s.trim() === "" ? Number.NaN : s);

/** The API's request from the wizard's answers (the console checks every field and names a bad one). */
export function requestOf(d: Draft): CreateReleaseRequest {
  const configs = Object.values(d.configs)
    .filter((v) => v !== "")
    .map(Number);
  const versions: CreateReleaseRequest["versions"] = {};
  if ((d.type === "full" || d.type === "code") && d.pkg !== "") versions.package = Number(d.pkg);
  if ((d.type === "full" || d.type === "config") && configs.length > 0) versions.configs = configs;
  if ((d.type === "full" || d.type === "libs") && d.libs.length > 0) versions.libs = d.libs;
  if ((d.type === "full" || d.type === "libs") && d.plugins.length > 0)
    versions.plugins = d.plugins;
  const batches: BatchSize[] = d.batches.map((b) =>
    b.kind === "rest"
      ? { rest: true }
      : b.kind === "machines"
        ? { machines: int(b.n) }
        : { percent: int(b.n) },
  );
  return {
    service: d.service,
    type: d.type,
    versions,
    targets:
      d.targetKind === "machines"
        ? { kind: "machines", machines: d.machines }
        : d.targetKind === "percent"
          ? { kind: "percent", percent: int(d.percent) }
          : { kind: "labels", labels: parseLabels(d.labels) },
    batches,
    gate: { healthSeconds: int(d.healthSeconds), approval: d.approval },
    ...(d.canaryWeight.trim() !== "" ? { canaryWeight: int(d.canaryWeight) } : {}),
    deployTimeoutSeconds: int(d.timeout),
    note: d.note,
  };
}

/** A release plan step by step: what, where, how, then review; save as a draft or start it. */
export function ReleaseWizard({ query }: { query: URLSearchParams }) {
  const { t } = useI18n();
  const { can } = useSession();
  const [step, setStep] = useState<Step>("what");
  const [draft, setDraft] = useState<Draft>({
    service: query.get("service") ?? "",
    type: "full",
    pkg: "",
    configs: {},
    libs: [],
    plugins: [],
    targetKind: "machines",
    machines: [],
    percent: "100",
    labels: "",
    batches: [
      { kind: "machines", n: "1" },
      { kind: "rest", n: "" },
    ],
    healthSeconds: "10",
    approval: false,
    canaryWeight: "",
    timeout: "120",
    note: "",
  });
  const set = (patch: Partial<Draft>) => setDraft((d) => ({ ...d, ...patch }));
  const services = useLoad(() => API.services().then((r) => r.services.map((s) => s.name)));
  const artifacts = useLoad(
    () =>
      draft.service ? API.artifacts(draft.service).then((r) => r.artifacts) : Promise.resolve([]),
    [draft.service],
  );
  const machines = useLoad(() => API.machines().then((r) => r.machines));
  const action = useAction();
  const [saved, setSaved] = useState<ReleaseView>();
  const at = STEPS.indexOf(step);
  const labels: Record<Step, string> = {
    what: t.stepWhat,
    where: t.stepWhere,
    how: t.stepHow,
    review: t.stepReview,
  };

  if (!can("operator")) return <p class="note">{t.operatorsOnly}</p>;

  const save = async (execute: boolean) => {
    let created: ReleaseView | undefined = saved;
    const ok = await action.run(async () => {
      created ??= await API.createRelease(requestOf(draft));
      setSaved(created);
      if (execute) await API.releaseAction(created.id, "execute");
    });
    if (ok && created) navigate(to.release(created.id));
  };

  const req = requestOf(draft);
  return (
    <>
      <p class="crumbs">
        <a href={to.releases()}>{t.releasesTitle}</a> / <span>{t.newRelease}</span>
      </p>
      <PageTitle>{t.newReleaseTitle}</PageTitle>
      <ol class="wizard-steps">
        {STEPS.map((s, i) => (
          <li
            key={s}
            aria-current={s === step ? "step" : undefined}
            class={i < at ? "done" : undefined}
          >
            <span class="num">{i + 1}</span> {labels[s]}
          </li>
        ))}
      </ol>
      <form
        class="card form-card"
        noValidate
        aria-label={labels[step]}
        onSubmit={(e) => {
          e.preventDefault();
          if (step !== "review") setStep(STEPS[at + 1] as Step);
        }}
      >
        <h2>{labels[step]}</h2>
        {step === "what" && (
          <WhatStep
            draft={draft}
            set={set}
            services={services.data ?? []}
            artifacts={artifacts.data ?? []}
          />
        )}
        {step === "where" && <WhereStep draft={draft} set={set} machines={machines.data ?? []} />}
        {step === "how" && <HowStep draft={draft} set={set} />}
        {step === "review" && (
          <>
            <dl class="facts" data-testid="review">
              <dt>{t.service}</dt>
              <dd>{draft.service || "–"}</dd>
              <dt>{t.releaseType}</dt>
              <dd>{releaseTypeLabel(t, draft.type)}</dd>
              <dt>{t.versions}</dt>
              <dd>{versionsText(t, req.versions) || "–"}</dd>
              <dt>{t.targets}</dt>
              <dd>{targetsText(t, req.targets)}</dd>
              <dt>{t.batches}</dt>
              <dd>{req.batches.map((b) => batchText(t, b)).join(" → ")}</dd>
              <dt>{t.gate}</dt>
              <dd>
                {fmt(t.gateHealth, { seconds: draft.healthSeconds })}
                {draft.approval && ` · ${t.gateApproval}`}
              </dd>
              <dt>{t.canaryWeight}</dt>
              <dd>{draft.canaryWeight || t.fullWeight}</dd>
            </dl>
            <InputField
              id="rel-note"
              label={t.note}
              maxLength={1000}
              value={draft.note}
              onValue={(note) => set({ note })}
            />
            {saved && <p class="note">{fmt(t.draftSaved, { id: String(saved.id) })}</p>}
          </>
        )}
        <FormErrorNote error={action.error} />
        <div class="actions">
          {at > 0 && (
            <button type="button" onClick={() => setStep(STEPS[at - 1] as Step)}>
              {t.back}
            </button>
          )}
          {step !== "review" && (
            <button type="submit" class="primary">
              {t.next}
            </button>
          )}
          {step === "review" && (
            <>
              <button
                type="button"
                disabled={action.busy || saved !== undefined}
                onClick={() => save(false)}
              >
                {t.saveDraft}
              </button>
              <button
                type="button"
                class="primary"
                disabled={action.busy}
                onClick={() => save(true)}
              >
                {action.busy ? t.working : t.saveAndExecute}
              </button>
            </>
          )}
        </div>
      </form>
    </>
  );
}
