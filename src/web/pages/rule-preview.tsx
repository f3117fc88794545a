import type { AlarmRuleInput, PreviewResult } from "../../core/schemas/alarm.js";
import { API, ApiError, type CompareName } from "../api.js";
import { Chart } from "../components/lazy-chart.js";
import { LoadState, useLoad } from "../components.js";
import { fmt, useI18n } from "../i18n/index.js";
import { toChartData } from "../series.js";

const MINUTE = 60_000;

/** Firing minutes joined into ranges [start, end) for the chart's shading. */
function firingRanges(p: PreviewResult): [number, number][] {
  const out: [number, number][] = [];
  for (const f of p.firing) {
    const m = Date.parse(f.minute);
    const last = out.at(-1);
    if (last && last[1] === m) last[1] = m + MINUTE;
    else out.push([m, m + MINUTE]);
  }
  return out;
}

/** What the preview needs of a rule, saved (AlarmRule) or as the form holds it (AlarmRuleInput). */
export type PreviewedRule = Pick<AlarmRuleInput, "service" | "attr" | "instance" | "kind"> & {
  threshold?: number;
  fluctuation?: { against?: "yesterday" | "mean" };
};

async function loadPreview(rule: PreviewedRule, preview: () => Promise<PreviewResult>) {
  const p = await preview();
  const compare: CompareName[] =
    rule.kind === "fluctuation" && rule.fluctuation?.against !== "mean" ? ["yesterday"] : [];
  const series = await API.series(rule.service, {
    attr: rule.attr,
    instance: rule.instance ?? "*",
    from: Date.parse(p.from),
    to: Date.parse(p.to),
    compare,
    stat: "value",
    step: "1m",
  }).then(toChartData, (e: unknown) => {
    // An attribute with no point yet has no series: the preview still says what it can.
    if (e instanceof ApiError && e.code === "not_found") return null;
    throw e;
  });
  return { preview: p, series };
}

/**
 * How a rule would have fired over the last day: a chart with the minutes shaded, and
 * the alarms. `preview` asks the console (the saved rule's preview, or an unsaved rule's);
 * it runs again when `version` changes.
 */
export function RulePreview({
  rule,
  preview,
  version,
}: {
  rule: PreviewedRule;
  preview: () => Promise<PreviewResult>;
  version: string | number;
}) {
  const { t, f } = useI18n();
  const data = useLoad(() => loadPreview(rule, preview), [version]);
  const d = data.data;
  const threshold = rule.kind === "max" || rule.kind === "min" ? rule.threshold : undefined;
  return (
    <section class="card form-card" aria-labelledby="preview-title" data-testid="preview">
      <div class="section-head">
        <h2 id="preview-title">{t.previewTitle}</h2>
        <button type="button" onClick={data.reload} disabled={data.loading}>
          {t.previewAgain}
        </button>
      </div>
      <LoadState load={data} />
      {d && (
        <>
          <p class="muted small">
            {f.dateTime(d.preview.from)} – {f.dateTime(d.preview.to)}
          </p>
          <p role="status" class={d.preview.alarms.length > 0 ? "note note-warn" : "note"}>
            {d.preview.alarms.length === 0
              ? t.previewNone
              : fmt(t.previewSome, {
                  n: f.number(d.preview.alarms.length),
                  minutes: f.number(d.preview.firing.length),
                })}
          </p>
          {d.series ? (
            <Chart
              label={fmt(t.chartOf, { attr: rule.attr })}
              times={d.series.times}
              lines={d.series.lines.map((l) => ({
                label: l.name === "current" ? t.lineToday : t.lineYesterday,
                values: l.values,
                look: l.name,
              }))}
              height={240}
              threshold={threshold}
              highlights={firingRanges(d.preview)}
            />
          ) : (
            <p class="empty">{t.noDataForAttr}</p>
          )}
          {d.preview.alarms.length > 0 && (
            <ol class="preview-alarms">
              {d.preview.alarms.map((a) => (
                <li key={a.firedAt}>
                  {fmt(t.wouldFire, { at: f.dateTime(a.firedAt) })}
                  {" – "}
                  {a.resolvedAt
                    ? fmt(t.wouldResolve, { at: f.dateTime(a.resolvedAt) })
                    : t.stillFiring}
                </li>
              ))}
            </ol>
          )}
        </>
      )}
    </section>
  );
}
