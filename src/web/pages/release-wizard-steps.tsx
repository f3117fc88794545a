import type { ArtifactView } from "../../core/schemas/artifact.js";
import type { MachineView } from "../../core/schemas/machine.js";
import type { ReleaseType } from "../../core/schemas/release.js";
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
  const toggle = (list: number[], v: number, on: boolean) =>
    on ? [...list, v].sort((a, b) => a - b) : list.filter((x) => x !== v);

  return (
    <>
      <div class="row">
        <div class="field">
          <label htmlFor="rel-service">{t.service}</label>
          <input
            id="rel-service"
            list="rel-services"
            value={d.service}
            placeholder={t.chooseService}
            aria-describedby="rel-service-hint"
            onInput={(e) =>
              set({
                service: e.currentTarget.value.trim(),
                pkg: "",
                configs: {},
                libs: [],
                plugins: [],
              })
            }
          />
          <datalist id="rel-services">
            {services.map((s) => (
              <option key={s} value={s} />
            ))}
          </datalist>
          <small class="hint" id="rel-service-hint">
            {t.serviceHint}
          </small>
        </div>
      </div>
      <fieldset class="plain">
        <legend class="label">{t.releaseType}</legend>
        <div class="choices">
          {TYPES.map((type) => (
            <label key={type} class="check">
              <input
                type="radio"
                name="rel-type"
                value={type}
                checked={d.type === type}
                onChange={() => set({ type })}
              />{" "}
              {releaseTypeLabel(t, type)}
            </label>
          ))}
        </div>
      </fieldset>
      {d.service && artifacts.length === 0 && <p class="empty">{t.noArtifactsToRelease}</p>}
      {parts.pkg && of("package").length > 0 && (
        <div class="field">
          <label htmlFor="rel-package">{t.partPackage}</label>
          <select
            id="rel-package"
            value={d.pkg}
            onChange={(e) => set({ pkg: e.currentTarget.value })}
          >
            <option value="">{t.choosePackage}</option>
            {of("package").map((a) => (
              <option key={a.version} value={String(a.version)}>
                {versionOption(a, f.dateTime)}
              </option>
            ))}
          </select>
        </div>
      )}
      {parts.configs &&
        configNames.map((name) => (
          <div class="field" key={name}>
            <label htmlFor={`rel-config-${name}`}>{`${t.partConfigs}: ${name}`}</label>
            <select
              id={`rel-config-${name}`}
              value={d.configs[name] ?? ""}
              onChange={(e) => set({ configs: { ...d.configs, [name]: e.currentTarget.value } })}
            >
              <option value="">{t.leaveOut}</option>
              {of("config")
                .filter((a) => (a.name ?? "") === name)
                .map((a) => (
                  <option key={a.version} value={String(a.version)}>
                    {versionOption(a, f.dateTime)}
                  </option>
                ))}
            </select>
          </div>
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
      <fieldset class="plain">
        <legend class="label">{t.targets}</legend>
        <div class="choices">
          {(["machines", "percent", "labels"] as const).map((k) => (
            <label key={k} class="check">
              <input
                type="radio"
                name="rel-targets"
                checked={d.targetKind === k}
                onChange={() => set({ targetKind: k })}
              />{" "}
              {{ machines: t.byMachines, percent: t.byPercent, labels: t.byLabels }[k]}
            </label>
          ))}
        </div>
      </fieldset>
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
        <div class="field field-narrow">
          <label htmlFor="rel-percent">{t.percentOfMachines}</label>
          <input
            id="rel-percent"
            type="number"
            min={1}
            max={100}
            value={d.percent}
            onInput={(e) => set({ percent: e.currentTarget.value })}
          />
        </div>
      )}
      {d.targetKind === "labels" && (
        <div class="field">
          <label htmlFor="rel-labels">{t.labels}</label>
          <input
            id="rel-labels"
            value={d.labels}
            placeholder="zone=sz"
            onInput={(e) => set({ labels: e.currentTarget.value })}
            aria-describedby="rel-labels-hint"
          />
          <small class="hint" id="rel-labels-hint">
            {t.targetLabelsHint}
          </small>
        </div>
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
        <div class="field field-narrow">
          <label htmlFor="rel-health">{t.healthSeconds}</label>
          <input
            id="rel-health"
            type="number"
            min={0}
            value={d.healthSeconds}
            onInput={(e) => set({ healthSeconds: e.currentTarget.value })}
          />
        </div>
        <div class="field field-narrow">
          <label htmlFor="rel-canary">{t.canaryWeight}</label>
          <input
            id="rel-canary"
            type="number"
            min={0}
            max={10000}
            placeholder={t.fullWeight}
            value={d.canaryWeight}
            onInput={(e) => set({ canaryWeight: e.currentTarget.value })}
          />
        </div>
        <div class="field field-narrow">
          <label htmlFor="rel-timeout">{t.deployTimeout}</label>
          <input
            id="rel-timeout"
            type="number"
            min={5}
            value={d.timeout}
            onInput={(e) => set({ timeout: e.currentTarget.value })}
          />
        </div>
      </div>
      <label class="check">
        <input
          type="checkbox"
          checked={d.approval}
          onChange={(e) => set({ approval: e.currentTarget.checked })}
        />{" "}
        {t.gateApprovalChoice}
      </label>
    </>
  );
}
