import type { ArtifactView } from "../../core/schemas/artifact.js";
import type { MachineView } from "../../core/schemas/machine.js";
import type { ReleaseType } from "../../core/schemas/release.js";
import { CheckField, InputField, RadioGroup, SelectField } from "../components/field.js";
import { LabelsField } from "../components/labels.js";
import { useI18n } from "../i18n/index.js";
import { releaseTypeLabel } from "../release-text.js";

/** The wizard's answers, as typed; `requestOf` (release-wizard.tsx) makes the API's request. */
export interface Draft {
  service: string;
  type: ReleaseType;
  /** Package version, or "" for none. */
  pkg: string;
  /** Config file name → version ("" leaves that file out). */
  configs: Record<string, string>;
  libs: number[];
  plugins: number[];
  targetKind: "machines" | "percent" | "labels";
  machines: string[];
  percent: string;
  labels: string;
  batches: { kind: "machines" | "percent" | "rest"; n: string }[];
  healthSeconds: string;
  approval: boolean;
  canaryWeight: string;
  timeout: string;
  note: string;
}

export type SetDraft = (patch: Partial<Draft>) => void;

const TYPES: ReleaseType[] = ["full", "code", "config", "libs"];

function versionOption(a: ArtifactView, f: (t: string) => string) {
  return `v${a.version} · ${f(a.uploadedAt)}${a.note ? ` · ${a.note}` : ""}`;
}

/** Step 1: the service, what kind of release, and which versions. */
export function WhatStep({
  draft: d,
  set,
  services,
  artifacts,
}: {
  draft: Draft;
  set: SetDraft;
  services: string[];
  artifacts: ArtifactView[];
}) {
  const { t, f } = useI18n();
  const of = (kind: ArtifactView["kind"]) =>
    artifacts.filter((a) => a.kind === kind).sort((a, b) => b.version - a.version);
  const configNames = [...new Set(of("config").map((a) => a.name ?? ""))].sort();
  const parts = {
    pkg: d.type === "full" || d.type === "code",
    configs: d.type === "full" || d.type === "config",
    libs: d.type === "full" || d.type === "libs",
  };
  const versions = (list: ArtifactView[]) =>
    list.map((a) => ({ value: String(a.version), label: versionOption(a, f.dateTime) }));
  const toggle = (list: number[], v: number, on: boolean) =>
    on ? [...list, v].sort((a, b) => a - b) : list.filter((x) => x !== v);

  return (
    <>
      <div class="row">
        <InputField
          id="rel-service"
          label={t.service}
          list="rel-services"
          value={d.service}
          placeholder={t.chooseService}
          hint={t.serviceHint}
          plain
          onValue={(v) => set({ service: v.trim(), pkg: "", configs: {}, libs: [], plugins: [] })}
        />
        <datalist id="rel-services">
          {services.map((s) => (
            <option key={s} value={s} />
          ))}
        </datalist>
      </div>
      <RadioGroup
        legend={t.releaseType}
        name="rel-type"
        value={d.type}
        onValue={(type) => set({ type })}
        options={TYPES.map((type) => ({ value: type, label: releaseTypeLabel(t, type) }))}
      />
      {d.service && artifacts.length === 0 && <p class="empty">{t.noArtifactsToRelease}</p>}
      {parts.pkg && of("package").length > 0 && (
        <SelectField
          id="rel-package"
          label={t.partPackage}
          value={d.pkg}
          onValue={(pkg) => set({ pkg })}
          options={[{ value: "", label: t.choosePackage }, ...versions(of("package"))]}
        />
      )}
      {parts.configs &&
        configNames.map((name) => (
          <SelectField
            key={name}
            id={`rel-config-${name}`}
            label={`${t.partConfigs}: ${name}`}
            value={d.configs[name] ?? ""}
            onValue={(v) => set({ configs: { ...d.configs, [name]: v } })}
            options={[
              { value: "", label: t.leaveOut },
              ...versions(of("config").filter((a) => (a.name ?? "") === name)),
            ]}
          />
        ))}
      {parts.libs &&
        (["lib", "plugin"] as const).map((kind) =>
          of(kind).length === 0 ? null : (
            <fieldset class="plain" key={kind}>
              <legend class="label">{kind === "lib" ? t.partLibs : t.partPlugins}</legend>
              <div class="choices">
                {of(kind).map((a) => {
                  const list = kind === "lib" ? d.libs : d.plugins;
                  return (
                    <label key={a.version} class="check">
                      <input
                        type="checkbox"
                        checked={list.includes(a.version)}
                        onChange={(e) => {
                          const next = toggle(list, a.version, e.currentTarget.checked);
                          set(kind === "lib" ? { libs: next } : { plugins: next });
                        }}
                      />{" "}
                      {versionOption(a, f.dateTime)}
                    </label>
                  );
                })}
              </div>
            </fieldset>
          ),
        )}
    </>
  );
}

/** Step 2: which machines. */
export function WhereStep({
  draft: d,
  set,
  machines,
}: {
  draft: Draft;
  set: SetDraft;
  machines: MachineView[];
}) {
  const { t } = useI18n();
  const runs = (m: MachineView) =>
    m.deployments.some((x) => x.service === d.service) ||
    m.services.some((x) => x.service === d.service);
  const sorted = [...machines].sort(
    (a, b) => Number(runs(b)) - Number(runs(a)) || a.name.localeCompare(b.name),
  );
  return (
    <>
      <RadioGroup
        legend={t.targets}
        name="rel-targets"
        value={d.targetKind}
        onValue={(targetKind) => set({ targetKind })}
        options={[
          { value: "machines", label: t.byMachines },
          { value: "percent", label: t.byPercent },
          { value: "labels", label: t.byLabels },
        ]}
      />
      {d.targetKind === "machines" &&
        (machines.length === 0 ? (
          <p class="empty">{t.noMachines}</p>
        ) : (
          <fieldset class="plain">
            <legend class="visually-hidden">{t.machinesTitle}</legend>
            <ul class="plain-list">
              {sorted.map((m) => (
                <li key={m.name}>
                  <label class="check">
                    <input
                      type="checkbox"
                      checked={d.machines.includes(m.name)}
                      onChange={(e) =>
                        set({
                          machines: e.currentTarget.checked
                            ? [...d.machines, m.name]
                            : d.machines.filter((x) => x !== m.name),
                        })
                      }
                    />{" "}
                    {m.name}
                  </label>{" "}
                  <span class="muted small">
                    {m.online ? t.online : t.offline}
                    {runs(m) && ` · ${t.runsService}`}
                  </span>
                </li>
              ))}
            </ul>
          </fieldset>
        ))}
      {d.targetKind === "percent" && (
        <InputField
          id="rel-percent"
          type="number"
          label={t.percentOfMachines}
          min={1}
          max={100}
          value={d.percent}
          onValue={(percent) => set({ percent })}
          narrow
        />
      )}
      {d.targetKind === "labels" && (
        <LabelsField
          id="rel-labels"
          label={t.labels}
          value={d.labels}
          placeholder="zone=sz"
          onValue={(labels) => set({ labels })}
          hint={t.targetLabelsHint}
        />
      )}
    </>
  );
}

/** Step 3: batches, the gate after each, canary weight. */
export function HowStep({ draft: d, set }: { draft: Draft; set: SetDraft }) {
  const { t } = useI18n();
  const setBatch = (i: number, patch: Partial<Draft["batches"][number]>) =>
    set({ batches: d.batches.map((b, j) => (j === i ? { ...b, ...patch } : b)) });
  return (
    <>
      <fieldset class="plain">
        <legend class="label">{t.batches}</legend>
        <ol class="batch-editor">
          {d.batches.map((b, i) => (
            <li key={i}>
              <select
                aria-label={`${t.batchSize} ${i + 1}`}
                value={b.kind}
                onChange={(e) => setBatch(i, { kind: e.currentTarget.value as typeof b.kind })}
              >
                <option value="machines">{t.sizeMachines}</option>
                <option value="percent">{t.sizePercent}</option>
                <option value="rest">{t.batchRest}</option>
              </select>
              {b.kind !== "rest" && (
                <input
                  type="number"
                  min={1}
                  aria-label={`${t.batchAmount} ${i + 1}`}
                  value={b.n}
                  onInput={(e) => setBatch(i, { n: e.currentTarget.value })}
                />
              )}
              {d.batches.length > 1 && (
                <button
                  type="button"
                  class="link danger-link"
                  onClick={() => set({ batches: d.batches.filter((_, j) => j !== i) })}
                >
                  {t.remove}
                </button>
              )}
            </li>
          ))}
        </ol>
        <button
          type="button"
          onClick={() => set({ batches: [...d.batches, { kind: "rest", n: "" }] })}
        >
          {t.addBatch}
        </button>
      </fieldset>
      <div class="row">
        <InputField
          id="rel-health"
          type="number"
          label={t.healthSeconds}
          min={0}
          value={d.healthSeconds}
          onValue={(healthSeconds) => set({ healthSeconds })}
          narrow
        />
        <InputField
          id="rel-canary"
          type="number"
          label={t.canaryWeight}
          min={0}
          max={10000}
          placeholder={t.fullWeight}
          value={d.canaryWeight}
          onValue={(canaryWeight) => set({ canaryWeight })}
          narrow
        />
        <InputField
          id="rel-timeout"
          type="number"
          label={t.deployTimeout}
          min={5}
          value={d.timeout}
          onValue={(timeout) => set({ timeout })}
          narrow
        />
      </div>
      <CheckField checked={d.approval} onValue={(approval) => set({ approval })}>
        {t.gateApprovalChoice}
      </CheckField>
    </>
  );
}
