import { Counter, Gauge, type Metric, type MetricLabels } from "./registry.js";

/**
 * Prometheus text exposition (format 0.0.4) of a registry. Framework metrics whose names
 * start with `rpc.` get families of their own (`msec_rpc_server_calls_total`); business
 * metrics keep their free-text names as a `name` label in three families
 * (`msec_events_total`, `msec_value`, `msec_observations`), so any name is valid.
 */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

const BUSINESS_FAMILY = {
  counter: "msec_events",
  gauge: "msec_value",
  histogram: "msec_observations",
} as const;

interface Family {
  name: string;
  type: "counter" | "gauge" | "histogram";
  help: string;
  lines: string[];
}

export function renderPrometheus(all: readonly Metric[], constLabels: MetricLabels = {}): string {
  const families = new Map<string, Family>();
  for (const m of all) {
    const framework = m.name.startsWith("rpc.");
    const type = m instanceof Counter ? "counter" : m instanceof Gauge ? "gauge" : "histogram";
    // Business families are named for what they hold, not their type (promtool lints that).
    const base = framework ? frameworkFamily(m.name) : BUSINESS_FAMILY[type];
    const family = type === "counter" ? `${base}_total` : base;
    const labels: Record<string, string> = {
      ...constLabels,
      ...(framework ? {} : { name: m.name }),
      ...m.labels,
    };
    let f = families.get(family);
    if (!f) {
      f = {
        name: family,
        type,
        help: framework ? `msec ${m.name}` : `msec business ${type}s by name`,
        lines: [],
      };
      families.set(family, f);
    }
    if (m instanceof Counter || m instanceof Gauge) {
      f.lines.push(`${family}${fmtLabels(labels)} ${fmtNumber(m.value)}`);
    } else {
      // Millisecond histograms go out in seconds, Prometheus's base unit.
      const scale = framework && m.name.endsWith("_ms") ? 0.001 : 1;
      let cumulative = 0;
      m.buckets.forEach((le, i) => {
        cumulative += m.counts[i] ?? 0;
        f.lines.push(
          `${base}_bucket${fmtLabels({ ...labels, le: fmtNumber(le * scale) })} ${cumulative}`,
        );
      });
      f.lines.push(`${base}_bucket${fmtLabels({ ...labels, le: "+Inf" })} ${m.count}`);
      f.lines.push(`${base}_sum${fmtLabels(labels)} ${fmtNumber(m.sum * scale)}`);
      f.lines.push(`${base}_count${fmtLabels(labels)} ${m.count}`);
    }
  }
  let out = "";
  for (const f of families.values()) {
    out += `# HELP ${f.name} ${f.help}\n# TYPE ${f.name} ${f.type}\n${f.lines.join("\n")}\n`;
  }
  return out;
}

function fmtLabels(labels: Record<string, string>): string {
  const parts = Object.entries(labels).map(
    ([k, v]) =>
      `${k.replace(/[^a-zA-Z0-9_]/g, "_")}="${v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"')}"`,
  );
  return parts.length === 0 ? "" : `{${parts.join(",")}}`;
}

function fmtNumber(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Number.POSITIVE_INFINITY) return "+Inf";
  if (n === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(n);
}

/** `rpc.server.latency_ms` → `msec_rpc_server_latency_seconds` (base units, as promtool asks). */
function frameworkFamily(name: string): string {
  return `msec_${name.replace(/[^a-zA-Z0-9_]/g, "_").replace(/_ms$/, "_seconds")}`;
}
