import { sql } from "kysely";
import { type MetricKind, MINUTE_MS, TOTAL } from "../../core/schemas/monitor.js";
import type { Db } from "../store/schema.js";
import { HOUR_MS } from "./buckets.js";
import { attrMeta } from "./query.js";
import { readRecentAttr } from "./recent.js";
import { INSTANCES_PER_QUERY, seriesInstances } from "./series.js";

/** How top ranks instances: sum (counters, histogram counts), mean, peak or last value. */
export const TOP_BY = ["sum", "avg", "max", "last"] as const;
export type TopBy = (typeof TOP_BY)[number];

export interface TopQuery {
  service: string;
  attr: string;
  from: number;
  /** Inclusive minute. */
  to: number;
  limit: number;
  /** Default: `last` for gauges, else `sum`. */
  by?: TopBy;
}

export interface TopEntry {
  instance: string;
  value: number;
  /** Newest minute (or hour) with a point in the range. */
  lastMinute: number;
}

export interface TopResult {
  kind: MetricKind;
  by: TopBy;
  instances: TopEntry[];
}

interface InstanceAgg {
  sum: number;
  samples: number;
  max: number;
  lastAt: number;
  last: number;
}

/**
 * Instances of a service ranked by one attribute over [from, to] (the total `*` is not
 * an instance). Instances are enumerated by a skip scan of the primary key, then read
 * with `instance in (...)`, which both engines turn into one index range per instance:
 * the cost grows with instances × minutes in the range, not with the attribute's history.
 * Minutes not merged yet are read from `metric_recent`, a seek per minute (recent.ts).
 */
export async function queryTop(db: Db, q: TopQuery): Promise<TopResult> {
  const meta = await attrMeta(db, q.service, q.attr, null);
  const by: TopBy = q.by ?? (meta.kind === "gauge" ? "last" : "sum");
  const from = Math.floor(q.from / MINUTE_MS) * MINUTE_MS;
  const end = Math.floor(q.to / MINUTE_MS) * MINUTE_MS + MINUTE_MS;
  const aggs = new Map<string, InstanceAgg>();
  const add = (instance: string, a: InstanceAgg) => {
    const prev = aggs.get(instance);
    if (!prev) {
      aggs.set(instance, a);
      return;
    }
    prev.sum += a.sum;
    prev.samples += a.samples;
    prev.max = Math.max(prev.max, a.max);
    if (a.lastAt > prev.lastAt) {
      prev.lastAt = a.lastAt;
      prev.last = a.last;
    }
  };
  const tables: TopTable[] = [MINUTES];
  if (meta.maxHour !== null && meta.maxHour + HOUR_MS > from) tables.push(HOURS);
  for (const t of tables) {
    const instances = await instancesOf(db, t.name, q.service, q.attr);
    const rangeFrom = Math.floor(from / t.unit) * t.unit;
    for (let i = 0; i < instances.length; i += INSTANCES_PER_QUERY) {
      const chunk = instances.slice(i, i + INSTANCES_PER_QUERY);
      const rows = await topRows(
        db,
        t,
        meta.kind,
        q.service,
        q.attr,
        chunk,
        rangeFrom,
        end,
        by === "last",
      );
      for (const [instance, a] of rows) add(instance, a);
    }
  }
  for (const r of await readRecentAttr(db, q.service, q.attr, from, end)) {
    if (r.instance === TOTAL) continue;
    add(r.instance, { sum: r.value, samples: 1, max: r.value, lastAt: r.minute, last: r.value });
  }
  const ranked: TopEntry[] = [];
  for (const [instance, a] of aggs) {
    const value =
      by === "sum" ? a.sum : by === "avg" ? a.sum / a.samples : by === "max" ? a.max : a.last;
    ranked.push({ instance, value, lastMinute: a.lastAt });
  }
  ranked.sort((x, y) => y.value - x.value || (x.instance < y.instance ? -1 : 1));
  return { kind: meta.kind, by, instances: ranked.slice(0, q.limit) };
}

interface TopTable {
  name: "metric_points" | "metric_hours";
  time: "minute" | "hour";
  unit: number;
}
const MINUTES: TopTable = { name: "metric_points", time: "minute", unit: MINUTE_MS };
const HOURS: TopTable = { name: "metric_hours", time: "hour", unit: HOUR_MS };

/** Distinct instances of (service, attr), without `*`. */
async function instancesOf(
  db: Db,
  table: TopTable["name"],
  service: string,
  attr: string,
): Promise<string[]> {
  return (await seriesInstances(db, table, service, attr)).filter((i) => i !== TOTAL);
}

/** Per-instance figures of one table over [from, end); with the last value when asked. */
async function topRows(
  db: Db,
  t: TopTable,
  kind: MetricKind,
  service: string,
  attr: string,
  instances: string[],
  from: number,
  end: number,
  withLast: boolean,
): Promise<Map<string, InstanceAgg>> {
  // An hourly gauge value is a mean: weigh it by its minutes to get the sum back.
  const hourly = t.name === "metric_hours";
  const sum =
    hourly && kind === "gauge" ? sql<number>`sum(value * samples)` : sql<number>`sum(value)`;
  const samples = hourly ? sql<number>`sum(samples)` : sql<number>`count(*)`;
  const max = hourly ? sql<number>`max(max)` : sql<number>`max(value)`;
  const { rows } = await sql<{
    instance: string;
    sum: number;
    samples: number;
    max: number;
    last_at: number;
  }>`
    select instance, ${sum} as sum, ${samples} as samples, ${max} as max, max(${sql.ref(t.time)}) as last_at
    from ${sql.table(t.name)}
    where service = ${service} and attr = ${attr} and instance in (${sql.join(instances)})
      and ${sql.ref(t.time)} >= ${from} and ${sql.ref(t.time)} < ${end}
    group by instance`.execute(db);
  const out = new Map<string, InstanceAgg>();
  for (const r of rows) {
    out.set(r.instance, {
      sum: Number(r.sum),
      samples: Number(r.samples),
      max: Number(r.max),
      lastAt: Number(r.last_at),
      last: Number.NaN,
    });
  }
  if (withLast && out.size > 0) {
    // The value at each instance's newest time: usually one or two distinct times.
    const times = [...new Set([...out.values()].map((a) => a.lastAt))];
    const value = hourly ? sql.ref("last") : sql.ref("value");
    const last = await sql<{ instance: string; at: number; value: number }>`
      select instance, ${sql.ref(t.time)} as at, ${value} as value from ${sql.table(t.name)}
      where service = ${service} and attr = ${attr} and instance in (${sql.join([...out.keys()])})
        and ${sql.ref(t.time)} in (${sql.join(times)})`.execute(db);
    for (const r of last.rows) {
      const a = out.get(r.instance);
      if (a && Number(r.at) === a.lastAt) a.last = Number(r.value);
    }
  }
  return out;
}
