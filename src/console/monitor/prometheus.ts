import { type HistogramValue, type MetricKind, MINUTE_MS } from "../../core/schemas/monitor.js";
import type { Db } from "../store/schema.js";
import { histogramMean, quantile } from "./histogram.js";
import { mergedBefore } from "./recent.js";
import { INSTANCES_PER_QUERY, seriesInstances } from "./series.js";

/**
 * Every service's latest complete minute in the Prometheus text format (0.0.4), for an
 * existing Prometheus to scrape at `/api/v1/prometheus`.
 *
 * Our points are per-minute figures (a counter's increase in the minute, not a running
 * total), so every family is a Prometheus gauge, one family per kind of attribute;
 * free-text attribute names travel in the `attr` label:
 *
 *   msec_attr_minute_increase{service="Demo.Echo",instance="*",attr="VIP level 28 logins"} 12
 *
 * Samples carry no timestamp: Prometheus stamps them at scrape time, marks series stale
 * when they stop, and never sees two different values for one explicit timestamp (which
 * it would refuse) when a late batch changes a minute that was already scraped.
 */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Quantiles exported for histogram attributes, in the `q` label. */
export const EXPORTED_QUANTILES = [0.5, 0.9, 0.99] as const;

/** One point of the exported minute. */
export interface ExportedPoint {
  service: string;
  attr: string;
  instance: string;
  kind: MetricKind;
  value: number;
  hist: HistogramValue | null;
}

interface Family {
  name: string;
  help: string;
  lines: string[];
}

const FAMILIES = {
  increase: {
    name: "msec_attr_minute_increase",
    help: "Increase of an msec counter attribute over its latest complete minute.",
  },
  value: {
    name: "msec_attr_minute_value",
    help: "Value of an msec gauge attribute at the end of its latest complete minute.",
  },
  observations: {
    name: "msec_attr_minute_observations",
    help: "Observations of an msec histogram attribute in its latest complete minute.",
  },
  mean: {
    name: "msec_attr_minute_observation_mean",
    help: "Mean observation of an msec histogram attribute in its latest complete minute.",
  },
  quantile: {
    name: "msec_attr_minute_observation_quantile",
    help: "Quantile q of an msec histogram attribute in its latest complete minute, from its buckets.",
  },
} as const;

/** Render points as Prometheus text: HELP and TYPE once per family, its samples together. */
export function renderExport(points: readonly ExportedPoint[]): string {
  const families = new Map<keyof typeof FAMILIES, Family>();
  const push = (key: keyof typeof FAMILIES, labels: string, value: number) => {
    let f = families.get(key);
    if (!f) {
      f = { ...FAMILIES[key], lines: [] };
      families.set(key, f);
    }
    f.lines.push(`${f.name}{${labels}} ${formatNumber(value)}`);
  };
  for (const p of points) {
    const labels = `service="${escapeLabel(p.service)}",instance="${escapeLabel(p.instance)}",attr="${escapeLabel(p.attr)}"`;
    if (p.kind === "counter") push("increase", labels, p.value);
    else if (p.kind === "gauge") push("value", labels, p.value);
    else {
      push("observations", labels, p.value);
      if (!p.hist) continue;
      const mean = histogramMean(p.hist);
      if (mean !== null) push("mean", labels, mean);
      for (const q of EXPORTED_QUANTILES) {
        const v = quantile(p.hist, q);
        if (v !== null) push("quantile", `${labels},q="${q}"`, v);
      }
    }
  }
  let out = "";
  for (const key of Object.keys(FAMILIES) as (keyof typeof FAMILIES)[]) {
    const f = families.get(key);
    if (!f) continue;
    out += `# HELP ${f.name} ${f.help}\n# TYPE ${f.name} gauge\n${f.lines.join("\n")}\n`;
  }
  return out;
}

/** A label value in the text format: backslash, double quote and line feed escaped. */
export function escapeLabel(v: string): string {
  return v.replace(/[\\"\n]/g, (c) => (c === "\\" ? "\\\\" : c === '"' ? '\\"' : "\\n"));
}

function formatNumber(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Number.POSITIVE_INFINITY) return "+Inf";
  if (n === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(n);
}

/**
 * Which minute to export for an attribute whose newest point is `lastMinute`: its
 * newest complete minute (never the current, still filling one), or null when that is
 * more than a minute older than the latest complete minute — a silent attribute drops
 * out (Prometheus marks it stale) instead of repeating an old value.
 */
export function exportMinute(lastMinute: number, now: number): number | null {
  const complete = Math.floor(now / MINUTE_MS) * MINUTE_MS - MINUTE_MS;
  const m = Math.min(lastMinute, complete);
  return m >= complete - MINUTE_MS ? m : null;
}

/**
 * Points of every attribute's export minute, sorted by service, attribute, instance.
 * Each attribute's instances are found by a skip scan of the primary key and read at
 * their one minute: index seeks in proportion to the series exported. Minutes not
 * merged yet are in `metric_recent`, keyed by minute first: one range per attribute.
 */
export async function latestPoints(db: Db, now: number): Promise<ExportedPoint[]> {
  const attrs = await db
    .selectFrom("metric_attrs")
    .select(["service", "attr", "kind", "last_minute"])
    .execute();
  const out: ExportedPoint[] = [];
  // metric_points holds only minutes before W: the export minute is usually past it.
  const w = await mergedBefore(db);
  for (const a of attrs) {
    const minute = exportMinute(Number(a.last_minute), now);
    if (minute === null) continue;
    const kind = a.kind as MetricKind;
    const recent = await db
      .selectFrom("metric_recent")
      .select(["instance", "value", "hist"])
      .where("minute", "=", minute)
      .where("service", "=", a.service)
      .where("attr", "=", a.attr)
      .execute();
    const instances =
      minute < w ? await seriesInstances(db, "metric_points", a.service, a.attr) : [];
    const batches = [recent];
    for (let i = 0; i < instances.length; i += INSTANCES_PER_QUERY) {
      batches.push(
        await db
          .selectFrom("metric_points")
          .select(["instance", "value", "hist"])
          .where("service", "=", a.service)
          .where("attr", "=", a.attr)
          .where("instance", "in", instances.slice(i, i + INSTANCES_PER_QUERY))
          .where("minute", "=", minute)
          .execute(),
      );
    }
    for (const rows of batches) {
      for (const r of rows) {
        const hist = kind === "histogram" && r.hist ? (JSON.parse(r.hist) as HistogramValue) : null;
        out.push({
          service: a.service,
          attr: a.attr,
          instance: r.instance,
          kind,
          value: r.value,
          hist,
        });
      }
    }
  }
  return out.sort(
    (a, b) =>
      compare(a.service, b.service) || compare(a.attr, b.attr) || compare(a.instance, b.instance),
  );
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
