import { type Command, InvalidArgumentError, Option } from "commander";
import {
  AttributesAnswer,
  MetricServicesAnswer,
  SeriesAnswer,
  TopAnswer,
} from "../../core/schemas/monitor.js";
import { intArg } from "../args.js";
import { apiClient, globals } from "../context.js";
import { UsageError } from "../errors.js";
import { printJson, printTable } from "../output.js";

const DURATION_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `90m`, `24h`, `7d` → milliseconds; a usage error otherwise. */
export function durationArg(value: string): number {
  const m = /^(\d{1,5})([mhd])$/.exec(value);
  if (!m || Number(m[1]) === 0) {
    throw new InvalidArgumentError("must be a duration like 30m, 1h, 24h or 7d.");
  }
  return Number(m[1]) * DURATION_MS[m[2] as keyof typeof DURATION_MS];
}

interface RangeFlags {
  from?: string;
  to?: string;
  last?: number;
}

function rangeParams(flags: RangeFlags, q: URLSearchParams): void {
  if (flags.last !== undefined && flags.from !== undefined) {
    throw new UsageError("give --last or --from, not both");
  }
  const to = flags.to ?? undefined;
  if (to !== undefined) q.set("to", to);
  if (flags.from !== undefined) q.set("from", flags.from);
  else if (flags.last !== undefined) {
    const end = to === undefined ? Date.now() : /^\d+$/.test(to) ? Number(to) : Date.parse(to);
    q.set("from", String(end - flags.last + 60_000));
  }
}

const metricPath = (service: string, what: string, q: URLSearchParams) =>
  `/metrics/${encodeURIComponent(service)}/${what}?${q}`;

function addRangeOptions(cmd: Command, defaultLast: string): Command {
  return cmd
    .option("--from <time>", "start: ISO-8601 time or epoch ms")
    .option("--to <time>", "end (default: now)")
    .option(
      "--last <duration>",
      `how far back from --to: 30m, 1h, 24h, 7d (default ${defaultLast})`,
      durationArg,
    );
}

/** `msec metric …`: the monitor's attributes, charts and top instances. */
export function registerMetricCommands(program: Command): void {
  const metric = program
    .command("metric")
    .description("business and framework metrics: list attributes, chart one, top instances");

  metric
    .command("list")
    .description("list the attributes of a service (or, without one, services with metrics)")
    .argument("[service]", "service name, L1.L2")
    .action(async (service: string | undefined, _f: unknown, cmd: Command) => {
      const api = await apiClient(cmd);
      if (service === undefined) {
        const { services } = await api.get("/metrics/services", MetricServicesAnswer);
        if (globals(cmd).json) printJson(services);
        else printTable(services, ["service", "attributes", "lastMinute"]);
        return;
      }
      const { attributes } = await api.get(
        `/metrics/${encodeURIComponent(service)}/attributes`,
        AttributesAnswer,
      );
      if (globals(cmd).json) printJson(attributes);
      else printTable(attributes, ["attr", "kind", "firstMinute", "lastMinute"]);
    });

  addRangeOptions(
    metric
      .command("show")
      .description("one attribute over time, as a chart on a terminal and a table otherwise")
      .argument("<service>", "service name, L1.L2")
      .argument("<attr>", "attribute, e.g. 'VIP level 28 logins' (quote spaces)")
      .option("--instance <addr>", "one instance (ip:port); default the service total")
      .option(
        "--compare <which>",
        "lay yesterday and/or a week ago over it: yesterday, week, or yesterday,week",
      )
      .addOption(
        new Option("--stat <stat>", "what a point shows")
          .choices(["value", "avg", "min", "max", "last", "p50", "p90", "p95", "p99"])
          .default("value"),
      )
      .option("--step <step>", "finest step wanted: 1m, 5m, 1h, 1d … (default: by range)"),
    "1h",
  ).action(
    async (
      service: string,
      attr: string,
      flags: RangeFlags & { instance?: string; compare?: string; stat: string; step?: string },
      cmd: Command,
    ) => {
      const q = new URLSearchParams({ attr, stat: flags.stat });
      if (flags.instance) q.set("instance", flags.instance);
      if (flags.compare) q.set("compare", flags.compare);
      if (flags.step) q.set("step", flags.step);
      rangeParams(flags, q);
      const s = await (await apiClient(cmd)).get(metricPath(service, "series", q), SeriesAnswer);
      if (globals(cmd).json) printJson(s);
      else if (process.stdout.isTTY) {
        const width = Math.max(40, Math.min(process.stdout.columns ?? 80, 160));
        process.stdout.write(`${renderChart(s, { width, height: 12 }).join("\n")}\n`);
      } else printSeriesTable(s);
    },
  );

  addRangeOptions(
    metric
      .command("top")
      .description("instances of a service ranked by an attribute")
      .argument("<service>", "service name, L1.L2")
      .argument("<attr>", "attribute")
      .option("--limit <n>", "how many instances (1-1000)", intArg(1, 1000), 10)
      .addOption(
        new Option("--by <how>", "rank by (default: last for gauges, else sum)").choices([
          "sum",
          "avg",
          "max",
          "last",
        ]),
      ),
    "1h",
  ).action(
    async (
      service: string,
      attr: string,
      flags: RangeFlags & { limit: number; by?: string },
      cmd: Command,
    ) => {
      const q = new URLSearchParams({ attr, limit: String(flags.limit) });
      if (flags.by) q.set("by", flags.by);
      rangeParams(flags, q);
      const t = await (await apiClient(cmd)).get(metricPath(service, "top", q), TopAnswer);
      if (globals(cmd).json) printJson(t);
      else {
        const rows = t.instances.map((i): Record<string, unknown> => ({ ...i, [t.by]: i.value }));
        printTable(rows, ["instance", t.by, "lastMinute"]);
      }
    },
  );
}

function printSeriesTable(s: SeriesAnswer): void {
  const start = Date.parse(s.from);
  const rows = (s.series[0]?.values ?? []).map((_, i) => {
    const row: Record<string, unknown> = { time: new Date(start + i * s.stepMs).toISOString() };
    for (const x of s.series)
      row[x.name] = x.values[i] === null ? null : round(x.values[i] as number);
    return row;
  });
  printTable(rows, ["time", ...s.series.map((x) => x.name)]);
}

/** Marks of each series on the chart; the current one is drawn last, on top. */
const MARKS: Record<string, string> = { current: "*", yesterday: "o", week: "." };

/**
 * An ASCII chart of a series answer: the compared series under the current one, a
 * y axis from the lowest to the highest value, start and end times (local) under it,
 * and min / max / last of each series.
 */
export function renderChart(
  s: SeriesAnswer,
  opts: { width: number; height: number; timeZone?: string },
): string[] {
  const n = s.series[0]?.values.length ?? 0;
  const all = s.series.flatMap((x) => x.values.filter((v): v is number => v !== null));
  const where = s.instance === "*" ? "total" : s.instance;
  const title = `${s.service} · ${s.attr} · ${where} · ${s.kind} ${s.stat} per ${stepName(s.stepMs)}`;
  if (all.length === 0) return [title, "(no points in this range)"];
  let lo = Math.min(...all);
  let hi = Math.max(...all);
  if (lo === hi) {
    lo = lo > 0 ? 0 : lo - 1;
    hi = hi > 0 ? hi : hi + 1;
  }
  const labels = [hi, (hi + lo) / 2, lo].map(formatValue);
  const labelWidth = Math.max(...labels.map((l) => l.length));
  const cols = Math.max(1, Math.min(n, opts.width - labelWidth - 2));
  const grid = Array.from({ length: opts.height }, () => new Array<string>(cols).fill(" "));
  for (const x of [...s.series].reverse()) {
    const mark = MARKS[x.name] ?? "+";
    const sums = new Float64Array(cols);
    const counts = new Uint32Array(cols);
    x.values.forEach((v, i) => {
      if (v === null) return;
      const c = Math.min(cols - 1, Math.floor((i * cols) / n));
      sums[c] = (sums[c] as number) + v;
      counts[c] = (counts[c] as number) + 1;
    });
    for (let c = 0; c < cols; c++) {
      if (counts[c] === 0) continue;
      const v = (sums[c] as number) / (counts[c] as number);
      const row = Math.round(((v - lo) / (hi - lo)) * (opts.height - 1));
      const line = grid[opts.height - 1 - row];
      if (line) line[c] = mark;
    }
  }
  const out = [title];
  grid.forEach((line, r) => {
    const label =
      r === 0
        ? labels[0]
        : r === opts.height - 1
          ? labels[2]
          : r === Math.floor((opts.height - 1) / 2)
            ? labels[1]
            : "";
    out.push(`${(label ?? "").padStart(labelWidth)} |${line.join("").trimEnd()}`);
  });
  out.push(`${" ".repeat(labelWidth)} +${"-".repeat(cols)}`);
  const start = Date.parse(s.from);
  const end = Date.parse(s.to);
  const long = end - start >= 86_400_000;
  const left = formatTime(start, long, opts.timeZone);
  const right = formatTime(end, long, opts.timeZone);
  out.push(
    `${" ".repeat(labelWidth + 2)}${left}${right.padStart(Math.max(right.length + 1, cols - left.length))}`,
  );
  for (const x of s.series) {
    const values = x.values.filter((v): v is number => v !== null);
    const lastValue = [...x.values].reverse().find((v) => v !== null);
    const stats =
      values.length === 0
        ? "no points"
        : `min ${formatValue(Math.min(...values))}  max ${formatValue(Math.max(...values))}  last ${lastValue === undefined || lastValue === null ? "-" : formatValue(lastValue)}`;
    out.push(`  ${MARKS[x.name] ?? "+"} ${x.name.padEnd(9)} ${stats}`);
  }
  return out;
}

function stepName(ms: number): string {
  const m = ms / 60_000;
  return m % 1440 === 0 ? `${m / 1440}d` : m % 60 === 0 ? `${m / 60}h` : `${m}m`;
}

function round(v: number): number {
  return Number(v.toPrecision(6));
}

/** A short number: 4 significant digits, k / M / G past ten thousand. */
export function formatValue(v: number): string {
  const a = Math.abs(v);
  for (const [unit, size] of [
    ["G", 1e9],
    ["M", 1e6],
    ["k", 1e3],
  ] as const) {
    if (a >= (unit === "k" ? 10 * size : size))
      return `${Number((v / size).toPrecision(3))}${unit}`;
  }
  return String(Number(v.toPrecision(4)));
}

function formatTime(ms: number, withDate: boolean, timeZone: string | undefined): string {
  const opts: Intl.DateTimeFormatOptions = {
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
    ...(withDate ? { month: "2-digit", day: "2-digit" } : {}),
    ...(timeZone ? { timeZone } : {}),
  };
  return new Intl.DateTimeFormat("en-CA", opts).format(ms).replace(",", "");
}
