import type { AlarmRule, AlarmRuleInput, RuleKind, Severity } from "../../core/schemas/alarm.js";
import { kindLabel, severityLabel } from "../alarm-text.js";
import { API } from "../api.js";
import { CheckField, FormErrorNote, InputField, SelectField } from "../components/field.js";
import { type FormError, useLoad } from "../components.js";
import { useI18n } from "../i18n/index.js";
import { useSession } from "../session.js";

/** The rule as the form holds it: text as typed, turned into the API's shape on save. */
export interface RuleForm {
  service: string;
  attr: string;
  instance: string;
  kind: RuleKind;
  threshold: string;
  percent: string;
  against: "yesterday" | "mean";
  meanMinutes: string;
  minBase: string;
  nodataMinutes: string;
  severity: Severity;
  receivers: string;
  flapN: string;
  flapM: string;
  repeatMinutes: string;
  enabled: boolean;
}

export function formOf(r: AlarmRule | undefined, service: string | undefined): RuleForm {
  return {
    service: r?.service ?? service ?? "",
    attr: r?.attr ?? "",
    instance: r?.instance ?? "*",
    kind: r?.kind ?? "max",
    threshold: r && (r.kind === "max" || r.kind === "min") ? String(r.threshold) : "",
    percent: r?.kind === "fluctuation" ? String(r.fluctuation.percent) : "50",
    against: r?.kind === "fluctuation" ? r.fluctuation.against : "yesterday",
    meanMinutes: r?.kind === "fluctuation" ? String(r.fluctuation.meanMinutes) : "10",
    minBase: r?.kind === "fluctuation" ? String(r.fluctuation.minBase) : "0",
    nodataMinutes: r?.kind === "nodata" ? String(r.nodataMinutes) : "3",
    severity: r?.severity ?? "warning",
    receivers: r?.receivers.join(", ") ?? "",
    flapN: String(r?.flap.n ?? 1),
    flapM: String(r?.flap.m ?? 1),
    repeatMinutes: String(r?.repeatMinutes ?? 30),
    enabled: r?.enabled ?? true,
  };
}

/**
 * A number input's value. An empty input stays absent, so the API answers with the
 * field's own "is required" rather than a confusing type error.
 */
const num = (s: string): number => (s.trim() === "" ? (undefined as unknown as number) : Number(s));

export function inputOf(f: RuleForm): AlarmRuleInput {
  const common = {
    service: f.service.trim(),
    attr: f.attr,
    instance: f.instance.trim() || "*",
    severity: f.severity,
    receivers: f.receivers
      .split(/[,\s]+/)
      .map((r) => r.trim())
      .filter((r) => r !== ""),
    flap: { n: num(f.flapN), m: num(f.flapM) },
    repeatMinutes: num(f.repeatMinutes),
    enabled: f.enabled,
  };
  switch (f.kind) {
    case "max":
    case "min":
      return { ...common, kind: f.kind, threshold: num(f.threshold) };
    case "fluctuation":
      return {
        ...common,
        kind: "fluctuation",
        fluctuation: {
          percent: num(f.percent),
          against: f.against,
          meanMinutes: num(f.meanMinutes),
          minBase: num(f.minBase),
        },
      };
    case "nodata":
      return { ...common, kind: "nodata", nodataMinutes: num(f.nodataMinutes) };
  }
}

const KINDS: RuleKind[] = ["max", "min", "fluctuation", "nodata"];
const SEVERITIES: Severity[] = ["info", "warning", "critical"];

/** The rule's fields. Read-only (a viewer) shows them without any button. */
export function RuleFields({
  form,
  set,
  error,
  readOnly,
}: {
  form: RuleForm;
  set: (patch: Partial<RuleForm>) => void;
  error: FormError | undefined;
  readOnly: boolean;
}) {
  const { t } = useI18n();
  const { can } = useSession();
  const services = useLoad(() => API.services().catch(() => ({ services: [] })));
  const validService = /^[A-Za-z][\w-]*\.[A-Za-z][\w-]*$/.test(form.service.trim());
  const attrs = useLoad(
    () =>
      (validService
        ? API.attributes(form.service.trim())
        : Promise.resolve({ service: "", attributes: [] })
      ).catch(() => ({ service: "", attributes: [] })),
    [form.service, validService],
  );
  const instances = useLoad(
    () =>
      (validService
        ? API.service(form.service.trim()).then((d) => d.instances.map((i) => i.addr))
        : Promise.resolve([])
      ).catch(() => [] as string[]),
    [form.service, validService],
  );
  const receivers = useLoad(() =>
    can("admin")
      ? API.receivers().then((r) => r.receivers.map((x) => x.name))
      : Promise.resolve([] as string[]),
  );
  const errorId = "rule-error";
  const text = (
    name: keyof RuleForm,
    label: string,
    opts: {
      list?: string;
      hint?: string;
      type?: "text" | "number";
      apiName?: string;
      narrow?: boolean;
    } = {},
  ) => (
    <InputField
      id={`rule-${name}`}
      name={name}
      label={label}
      type={opts.type}
      step={opts.type === "number" ? "any" : undefined}
      list={opts.list}
      hint={opts.hint}
      narrow={opts.narrow}
      value={String(form[name])}
      onValue={(v) => set({ [name]: v })}
      invalid={{ error, errorId, apiName: opts.apiName }}
    />
  );

  return (
    <fieldset class="plain" disabled={readOnly}>
      <datalist id="rule-services">
        {services.data?.services.map((s) => (
          <option key={s.name} value={s.name} />
        ))}
      </datalist>
      <datalist id="rule-attrs">
        {attrs.data?.attributes.map((a) => (
          <option key={a.attr} value={a.attr} />
        ))}
      </datalist>
      <datalist id="rule-instances">
        <option value="*">{t.total}</option>
        {instances.data?.map((i) => (
          <option key={i} value={i} />
        ))}
      </datalist>

      <h3>{t.ruleWhat}</h3>
      <div class="row">
        {text("service", t.service, { list: "rule-services" })}
        {text("attr", t.attribute, { list: "rule-attrs" })}
        {text("instance", t.instance, {
          list: "rule-instances",
          hint: t.instanceHint,
          narrow: true,
        })}
      </div>

      <h3>{t.ruleWhen}</h3>
      <div class="row">
        <SelectField
          id="rule-kind"
          label={t.ruleKind}
          value={form.kind}
          onValue={(kind) => set({ kind })}
          options={KINDS.map((k) => ({ value: k, label: kindLabel(t, k) }))}
          narrow
        />
        {(form.kind === "max" || form.kind === "min") &&
          text("threshold", t.threshold, {
            type: "number",
            hint: form.kind === "max" ? t.thresholdMaxHint : t.thresholdMinHint,
          })}
        {form.kind === "fluctuation" && (
          <>
            {text("percent", t.percent, {
              type: "number",
              apiName: "fluctuation.percent",
              narrow: true,
            })}
            <SelectField
              id="rule-against"
              label={t.against}
              value={form.against}
              onValue={(against) => set({ against })}
              options={[
                { value: "yesterday", label: t.againstYesterday },
                { value: "mean", label: t.againstMeanOption },
              ]}
              narrow
            />
            {form.against === "mean" &&
              text("meanMinutes", t.meanMinutes, {
                type: "number",
                apiName: "fluctuation.meanMinutes",
                narrow: true,
              })}
            {text("minBase", t.minBase, {
              type: "number",
              apiName: "fluctuation.minBase",
              hint: t.minBaseHint,
              narrow: true,
            })}
          </>
        )}
        {form.kind === "nodata" &&
          text("nodataMinutes", t.nodataMinutes, {
            type: "number",
            hint: t.nodataHint,
            narrow: true,
          })}
      </div>
      <div class="row">
        {text("flapN", t.flapN, { type: "number", apiName: "flap.n", narrow: true })}
        {text("flapM", t.flapM, {
          type: "number",
          apiName: "flap.m",
          hint: t.flapHint,
          narrow: true,
        })}
        {text("repeatMinutes", t.repeatMinutes, {
          type: "number",
          hint: t.repeatHint,
          narrow: true,
        })}
      </div>

      <h3>{t.ruleWho}</h3>
      <div class="row">
        <SelectField
          id="rule-severity"
          label={t.severity}
          value={form.severity}
          onValue={(severity) => set({ severity })}
          options={SEVERITIES.map((s) => ({ value: s, label: severityLabel(t, s) }))}
          narrow
        />
        {text("receivers", t.receivers, {
          hint:
            receivers.data && receivers.data.length > 0
              ? `${t.receiversHint} ${receivers.data.join(", ")}`
              : t.receiversHint,
        })}
      </div>
      <CheckField checked={form.enabled} onValue={(enabled) => set({ enabled })}>
        {t.ruleEnabled}
      </CheckField>
      <small class="hint block">{t.ruleEnabledHint}</small>
      <FormErrorNote error={error} id={errorId} />
    </fieldset>
  );
}
