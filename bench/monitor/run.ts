/**
 * Monitor benchmarks: ingest rate into the embedded store, query latency of one day
 * and one week of one attribute, and the cost of `counter.inc` — each beside a peer
 * measured in the same run (raw better-sqlite3 inserts; a bare Map increment).
 * Run pinned to one core: `npm run bench:monitor` (uses taskset when present).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import SQLite from "better-sqlite3";
import { readMinutes, writeBatches, writePoints } from "../../dist/console/monitor/points.js";
import { openStore } from "../../dist/console/store/index.js";
import { MINUTE_MS } from "../../dist/core/schemas/monitor.js";
import { MetricsRegistry } from "../../dist/runtime/metrics/registry.js";

const dir = mkdtempSync(join(tmpdir(), "msec-bench-monitor-"));
const results: Record<string, number> = {};

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
}

async function ingest(): Promise<void> {
  const store = await openStore(`sqlite:${join(dir, "ingest.db")}`);
  // An agent's minute: 20 processes × 500 attributes; 10 minutes of it.
  const attrs = Array.from({ length: 500 }, (_, i) => `attr ${i}`);
  const base = Math.floor(Date.now() / MINUTE_MS) * MINUTE_MS - 60 * MINUTE_MS;
  let points = 0;
  const started = performance.now();
  // As the agent sends it: the machine's 20 processes in one request (one commit) a minute.
  for (let m = 0; m < 10; m++) {
    points += await writeBatches(
      store,
      Array.from({ length: 20 }, (_, inst) => ({
        service: "Bench.Svc",
        instance: `10.0.0.${inst}:80`,
        minutes: [
          {
            minute: base + m * MINUTE_MS,
            points: attrs.map((attr, i) => ({ attr, kind: "counter" as const, value: i + m })),
          },
        ],
      })),
    );
  }
  const seconds = (performance.now() - started) / 1000;
  results.ingestPointsPerSecond = points / seconds;
  await store.close();

  // The peer: the same rows as plain inserts through prepared statements, one transaction per batch.
  const raw = new SQLite(join(dir, "raw.db"));
  raw.pragma("journal_mode = WAL");
  raw.pragma("synchronous = NORMAL"); // as msec writes metric points
  raw.exec(
    "create table p (service text, attr text, instance text, minute bigint, value double precision, primary key (service, attr, instance, minute)) without rowid",
  );
  const insert = raw.prepare("insert into p values (?, ?, ?, ?, ?)");
  const rawStarted = performance.now();
  for (let m = 0; m < 10; m++) {
    raw.transaction(() => {
      for (let inst = 0; inst < 20; inst++) {
        attrs.forEach((attr, i) => {
          insert.run("Bench.Svc", attr, `10.0.0.${inst}:80`, base + m * MINUTE_MS, i + m);
        });
      }
    })();
  }
  results.rawInsertRowsPerSecond = points / ((performance.now() - rawStarted) / 1000);
  raw.close();
}

async function query(): Promise<void> {
  const store = await openStore(`sqlite:${join(dir, "query.db")}`);
  const end = Math.floor(Date.now() / MINUTE_MS) * MINUTE_MS;
  const start = end - 8 * 1440 * MINUTE_MS;
  // Eight days of one attribute from 10 instances (so the total row sits among others), plus a noise attribute.
  for (let inst = 0; inst < 10; inst++) {
    const minutes = [];
    for (let t = start; t < end; t += MINUTE_MS) {
      minutes.push({
        minute: t,
        points: [
          { attr: "logins", kind: "counter" as const, value: 1 },
          { attr: "other", kind: "gauge" as const, value: 2 },
        ],
      });
      if (minutes.length === 1440) {
        await writePoints(store, "Bench.Svc", `10.0.0.${inst}:80`, minutes.splice(0));
      }
    }
    if (minutes.length > 0) await writePoints(store, "Bench.Svc", `10.0.0.${inst}:80`, minutes);
  }
  for (const [name, span] of [
    ["day", 1440],
    ["week", 7 * 1440],
  ] as const) {
    const samples: number[] = [];
    let rows = 0;
    for (let i = 0; i < 300; i++) {
      const t = performance.now();
      const points = await readMinutes(store.db, {
        service: "Bench.Svc",
        attr: "logins",
        instance: "*",
        from: end - span * MINUTE_MS,
        to: end,
      });
      samples.push(performance.now() - t);
      rows = points.length;
    }
    samples.sort((a, b) => a - b);
    results[`query_${name}_rows`] = rows;
    results[`query_${name}_p50_ms`] = percentile(samples, 0.5);
    results[`query_${name}_p99_ms`] = percentile(samples, 0.99);
  }
  await store.close();
}

function inc(): void {
  const registry = new MetricsRegistry();
  const N = 20_000_000;
  const counter = registry.counter("VIP level 28 logins");
  const map = new Map<string, number>([["VIP level 28 logins", 0]]);
  const key = "VIP level 28 logins";
  for (let round = 0; round < 2; round++) {
    // Warm up both, then measure: a held handle, a lookup by name each time, a bare Map.
    let t = performance.now();
    for (let i = 0; i < N; i++) counter.inc();
    results.inc_handle_ns = ((performance.now() - t) * 1e6) / N;
    t = performance.now();
    for (let i = 0; i < N; i++) registry.counter(key).inc();
    results.inc_by_name_ns = ((performance.now() - t) * 1e6) / N;
    t = performance.now();
    for (let i = 0; i < N; i++) map.set(key, (map.get(key) ?? 0) + 1);
    results.map_increment_ns = ((performance.now() - t) * 1e6) / N;
  }
  if (counter.value < 0 || (map.get(key) ?? 0) < 0)
    throw new Error("unreachable: keeps the loops alive");
}

const machine = {
  cpu: cpus()[0]?.model ?? "?",
  cores: cpus().length,
  node: process.version,
  loadavg: loadavg()
    .map((l) => l.toFixed(2))
    .join(" "),
  date: new Date().toISOString(),
};
try {
  await ingest();
  await query();
  inc();
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const ratio = (a: number, b: number) => (a / b).toFixed(2);
const checks = [
  [
    "ingest ≥ 300,000 points/s",
    results.ingestPointsPerSecond ?? 0,
    300_000,
    (results.ingestPointsPerSecond ?? 0) >= 300_000,
  ],
  [
    "one-day query p99 ≤ 5 ms",
    results.query_day_p99_ms ?? 0,
    5,
    (results.query_day_p99_ms ?? 99) <= 5,
  ],
  [
    "counter.inc (by name) ≤ 3× Map increment",
    (results.inc_by_name_ns ?? 0) / (results.map_increment_ns ?? 1),
    3,
    (results.inc_by_name_ns ?? 0) <= 3 * (results.map_increment_ns ?? 0),
  ],
] as const;
const lines = [
  `# Monitor benchmark — ${machine.date}`,
  "",
  `Machine: ${machine.cpu}, ${machine.cores} cores, node ${machine.node}, load ${machine.loadavg} (shared and noisy: read the ratios).`,
  "",
  "| measure | msec | peer (same run) | ratio |",
  "|---|---|---|---|",
  `| ingest, points/s (a machine's minute per commit: 20 instances × 500 attrs; 10 minutes) | ${Math.round(results.ingestPointsPerSecond ?? 0)} | raw prepared inserts: ${Math.round(results.rawInsertRowsPerSecond ?? 0)} rows/s | ${ratio(results.ingestPointsPerSecond ?? 0, results.rawInsertRowsPerSecond ?? 1)} |`,
  `| query one day (${results.query_day_rows} points) p50 / p99 ms | ${results.query_day_p50_ms?.toFixed(2)} / ${results.query_day_p99_ms?.toFixed(2)} | – | – |`,
  `| query one week (${results.query_week_rows} points) p50 / p99 ms | ${results.query_week_p50_ms?.toFixed(2)} / ${results.query_week_p99_ms?.toFixed(2)} | – | – |`,
  `| counter.inc, held handle, ns | ${results.inc_handle_ns?.toFixed(1)} | Map get+set: ${results.map_increment_ns?.toFixed(1)} | ${ratio(results.inc_handle_ns ?? 0, results.map_increment_ns ?? 1)} |`,
  `| metrics.counter(name).inc(), ns | ${results.inc_by_name_ns?.toFixed(1)} | Map get+set: ${results.map_increment_ns?.toFixed(1)} | ${ratio(results.inc_by_name_ns ?? 0, results.map_increment_ns ?? 1)} |`,
  "",
  "Targets:",
  ...checks.map(
    ([name, value, target, met]) =>
      `- ${name}: ${typeof value === "number" ? value.toFixed(2) : value} (target ${target}) — ${met ? "met" : "NOT met"}`,
  ),
  "",
];
process.stdout.write(`${lines.join("\n")}\n`);
mkdirSync("bench/results", { recursive: true });
writeFileSync(
  `bench/results/monitor-${machine.date.slice(0, 10)}.json`,
  `${JSON.stringify({ machine, results }, null, 2)}\n`,
);
writeFileSync("bench/results/monitor-latest.md", `${lines.join("\n")}\n`);
