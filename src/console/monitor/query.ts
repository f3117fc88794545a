import { MsecError } from "../../core/errors.js";
import type { HistogramValue, MetricKind } from "../../core/schemas/monitor.js";
import { MINUTE_MS, TOTAL } from "../../core/schemas/monitor.js";
import { type NativeHandle, onSqliteConnection, type Store } from "../store/index.js";
import type { Db } from "../store/schema.js";
import {
  addCell,
  type Buckets,
  COMPARES,
  type Compare,
  checkStat,
  chooseStep,
  finishBuckets,
  HOUR_MS,
  needsHistogram,
  newBuckets,
  type Stat,
} from "./buckets.js";
import { mergeColumns, type RecentRow, readRecent } from "./recent.js";

/**
 * The monitor's read side: one attribute over a time range (with the same minutes a day
 * and a week earlier, aligned onto the range's own stamps), and the services and
 * attributes there are. Steps and buckets are in `buckets.ts`, top instances in `top.ts`.
 *
 * @example
 * const s = await querySeries(store, {
 *   service: "Demo.Echo", attr: "VIP level 28 logins", instance: "*",
 *   from: now - DAY_MS, to: now, compare: ["yesterday", "week"], stat: "value",
 * });
 * s.series[1].values[i]; // yesterday at the minute s.from + i * s.step
 */

export interface SeriesQuery {
  service: string;
  attr: string;
  /** An instance, or `*` for the service total. */
  instance: string;
  /** Epoch ms, inclusive; floored to the step. */
  from: number;
  to: number;
  compare: readonly Compare[];
  stat: Stat;
  /** Smallest step wanted, in ms (one of STEP_MINUTES); the range may force a coarser one. */
  minStep?: number;
}

export interface Series {
  name: "current" | Compare;
  /** How far before the current range this series' minutes are, in ms. */
  offset: number;
  /** `values[i]` is the bucket starting at `from + i * step` (minus `offset`); null: no point. */
  values: (number | null)[];
}

export interface SeriesResult {
  kind: MetricKind;
  /** Start of the first and of the last bucket, epoch ms. */
  from: number;
  to: number;
  step: number;
  /** `hour` when the range reaches back into hourly rollups. */
  resolution: "minute" | "hour";
  series: Series[];
}

export interface AttrMeta {
  kind: MetricKind;
  /** Newest hourly rollup of this attribute (for one instance if given), or null. */
  maxHour: number | null;
}

export async function attrMeta(
  db: Db,
  service: string,
  attr: string,
  instance: string | null,
): Promise<AttrMeta> {
  const row = await db
    .selectFrom("metric_attrs")
    .select((eb) => [
      "kind",
      eb
        .selectFrom("metric_hours")
        .select((h) => h.fn.max("hour").as("m"))
        .where("metric_hours.service", "=", service)
        .where("metric_hours.attr", "=", attr)
        .$if(instance !== null, (w) => w.where("metric_hours.instance", "=", instance as string))
        .as("max_hour"),
    ])
    .where("service", "=", service)
    .where("attr", "=", attr)
    .executeTakeFirst();
  if (!row) {
    throw new MsecError(
      "not_found",
      `service ${service} has no attribute "${attr}" (see \`msec metric list ${service}\`)`,
      { field: "query.attr" },
    );
  }
  return {
    kind: row.kind as MetricKind,
    maxHour: row.max_hour === null ? null : Number(row.max_hour),
  };
}

/**
 * One attribute of one instance (or the total) over [from, to], bucketed by a step
 * that keeps each series within MAX_POINTS, with the compared series shifted onto the
 * same bucket stamps. A range that reaches back into hourly rollups reads them too,
 * with a step of at least an hour.
 */
export async function querySeries(store: SeriesStore, q: SeriesQuery): Promise<SeriesResult> {
  const meta = await attrMeta(store.db, q.service, q.attr, q.instance);
  checkStat(meta.kind, q.stat, q.attr);
  const oldest = q.from - Math.max(0, ...q.compare.map((c) => COMPARES[c]));
  const hourly = meta.maxHour !== null && meta.maxHour + HOUR_MS > oldest;
  const step = chooseStep(q.from, q.to, Math.max(q.minStep ?? 0, hourly ? HOUR_MS : MINUTE_MS));
  const from = Math.floor(q.from / step) * step;
  const to = Math.floor(q.to / step) * step;
  const count = (to - from) / step + 1;
  const withHist = needsHistogram(meta.kind, q.stat);
  const wanted: { name: Series["name"]; offset: number }[] = [{ name: "current", offset: 0 }];
  for (const c of new Set(q.compare)) wanted.push({ name: c, offset: COMPARES[c] });

  const series = await Promise.all(
    wanted.map(async ({ name, offset }): Promise<Series> => {
      const b = newBuckets(count, withHist);
      const range = { from: from - offset, end: to + step - offset, step };
      if (hourly) await fillFromHours(store, q, meta.kind, range, b, withHist);
      else await fillFromMinutes(store, q, range, b, withHist);
      return { name, offset, values: finishBuckets(b, meta.kind, q.stat) };
    }),
  );
  return { kind: meta.kind, from, to, step, resolution: hourly ? "hour" : "minute", series };
}

interface Range {
  /** First minute read, inclusive; bucket 0 starts here. */
  from: number;
  /** End of the last bucket, exclusive. */
  end: number;
  step: number;
}

/** One series' minutes as parallel columns, oldest first. */
interface MinuteColumns {
  minute: number[];
  value: number[];
  hist: (string | null)[] | null;
}

/**
 * What a series reads from: the store's Kysely handle (both engines), and SQLite's own
 * handle when there is one. A day of minutes through Kysely costs a row object each;
 * plucked columns from prepared statements cost half the time.
 */
export type SeriesStore = Pick<Store, "db"> & { readonly native?: NativeHandle };

async function readMinutes(
  store: SeriesStore,
  q: SeriesQuery,
  from: number,
  end: number,
  withHist: boolean,
): Promise<MinuteColumns> {
  if (store.native?.engine === "sqlite") {
    const read = sqliteColumns(store.native.database);
    return onSqliteConnection(store.db, () =>
      read(q.service, q.attr, q.instance, from, end, withHist),
    );
  }
  // A point is in metric_points or in metric_recent (see recent.ts): read both.
  const [rows, recent] = await Promise.all([
    store.db
      .selectFrom("metric_points")
      .select(["minute", "value"])
      .$if(withHist, (s) => s.select("hist"))
      .where("service", "=", q.service)
      .where("attr", "=", q.attr)
      .where("instance", "=", q.instance)
      .where("minute", ">=", from)
      .where("minute", "<", end)
      .orderBy("minute")
      .execute(),
    readRecent(store.db, q, from, end),
  ]);
  return mergeColumns(
    {
      minute: rows.map((r) => Number(r.minute)),
      value: rows.map((r) => r.value),
      hist: withHist ? rows.map((r) => r.hist ?? null) : null,
    },
    recent,
  );
}

type SqliteDatabase = Extract<NativeHandle, { engine: "sqlite" }>["database"];
type ColumnsReader = (
  service: string,
  attr: string,
  instance: string,
  from: number,
  end: number,
  withHist: boolean,
) => MinuteColumns;
const sqliteReaders = new WeakMap<SqliteDatabase, ColumnsReader>();

/**
 * Prepared once per database: one plucked column per statement (no row objects), all
 * read in one transaction so the columns line up even beside another process's writes,
 * then the series' rows in metric_recent (a skip scan of its minutes, see recent.ts).
 */
function sqliteColumns(database: SqliteDatabase): ColumnsReader {
  let reader = sqliteReaders.get(database);
  if (reader) return reader;
  const where =
    "where service = ? and attr = ? and instance = ? and minute >= ? and minute < ? order by minute";
  const column = (name: string) =>
    database.prepare(`select ${name} from metric_points ${where}`).pluck(true);
  const minute = column("minute");
  const value = column("value");
  const hist = column("hist");
  const recent = database.prepare(
    `with recursive m(x) as (
       select min(minute) from metric_recent where minute >= ? and minute < ?
       union all
       select (select min(minute) from metric_recent where minute > m.x and minute < ?)
       from m where m.x is not null
     )
     select r.minute, r.value, r.hist from m join metric_recent r on r.minute = m.x
     where r.service = ? and r.attr = ? and r.instance = ? order by r.minute`,
  );
  reader = database.transaction(
    (
      service: string,
      attr: string,
      instance: string,
      from: number,
      end: number,
      withHist: boolean,
    ) =>
      mergeColumns(
        {
          minute: minute.all(service, attr, instance, from, end) as number[],
          value: value.all(service, attr, instance, from, end) as number[],
          hist: withHist
            ? (hist.all(service, attr, instance, from, end) as (string | null)[])
            : null,
        },
        recent.all(from, end, end, service, attr, instance) as RecentRow[],
      ),
  );
  sqliteReaders.set(database, reader);
  return reader;
}

async function fillFromMinutes(
  store: SeriesStore,
  q: SeriesQuery,
  r: Range,
  b: Buckets,
  withHist: boolean,
): Promise<void> {
  const c = await readMinutes(store, q, r.from, r.end, withHist);
  for (let k = 0; k < c.minute.length; k++) {
    const v = c.value[k] as number;
    const i = Math.floor(((c.minute[k] as number) - r.from) / r.step);
    const h = c.hist?.[k];
    addCell(b, i, 1, v, v, v, v, h ? parseHist(h) : null);
  }
}

/**
 * Hours in the range: the hourly row where there is one, else the hour's minutes (not
 * rolled up yet, or past the rollup because the retention was raised). Cells go in
 * time order, so `last` holds.
 */
async function fillFromHours(
  store: SeriesStore,
  q: SeriesQuery,
  kind: MetricKind,
  r: Range,
  b: Buckets,
  withHist: boolean,
): Promise<void> {
  const [hours, c] = await Promise.all([
    store.db
      .selectFrom("metric_hours")
      .select(["hour", "value", "samples", "min", "max", "last"])
      .$if(withHist, (s) => s.select("hist"))
      .where("service", "=", q.service)
      .where("attr", "=", q.attr)
      .where("instance", "=", q.instance)
      .where("hour", ">=", r.from)
      .where("hour", "<", r.end)
      .orderBy("hour")
      .execute(),
    readMinutes(store, q, r.from, r.end, withHist),
  ]);
  const rolled = new Set(hours.map((h) => Number(h.hour)));
  let m = 0;
  const addMinutesBefore = (limit: number) => {
    for (; m < c.minute.length; m++) {
      const minute = c.minute[m] as number;
      if (minute >= limit) return;
      if (rolled.has(minute - (minute % HOUR_MS))) continue;
      const v = c.value[m] as number;
      const i = Math.floor((minute - r.from) / r.step);
      const h = c.hist?.[m];
      addCell(b, i, 1, v, v, v, v, h ? parseHist(h) : null);
    }
  };
  for (const h of hours) {
    const hour = Number(h.hour);
    addMinutesBefore(hour);
    const sum = kind === "gauge" ? h.value * h.samples : h.value;
    const i = Math.floor((hour - r.from) / r.step);
    addCell(
      b,
      i,
      h.samples,
      sum,
      h.min,
      h.max,
      h.last,
      withHist && h.hist ? parseHist(h.hist) : null,
    );
  }
  addMinutesBefore(Number.POSITIVE_INFINITY);
}

function parseHist(json: string): HistogramValue {
  return JSON.parse(json) as HistogramValue;
}

// ---------------------------------------------------------------------------------
// Services and attributes

export interface ServiceMetrics {
  service: string;
  attributes: number;
  lastMinute: number;
}

/** Services that have sent metrics, with how many attributes and their newest minute. */
export async function listMetricServices(db: Db): Promise<ServiceMetrics[]> {
  const rows = await db
    .selectFrom("metric_attrs")
    .select((eb) => [
      "service",
      eb.fn.countAll<number>().as("attributes"),
      eb.fn.max("last_minute").as("last_minute"),
    ])
    .groupBy("service")
    .orderBy("service")
    .execute();
  return rows.map((r) => ({
    service: r.service,
    attributes: Number(r.attributes),
    lastMinute: Number(r.last_minute),
  }));
}

export interface AttrInfo {
  attr: string;
  kind: MetricKind;
  firstMinute: number;
  lastMinute: number;
}

export async function listAttributes(db: Db, service: string): Promise<AttrInfo[]> {
  const rows = await db
    .selectFrom("metric_attrs")
    .select(["attr", "kind", "first_minute", "last_minute"])
    .where("service", "=", service)
    .orderBy("attr")
    .execute();
  return rows.map((r) => ({
    attr: r.attr,
    kind: r.kind as MetricKind,
    firstMinute: Number(r.first_minute),
    lastMinute: Number(r.last_minute),
  }));
}

// ---------------------------------------------------------------------------------
// Calls per service, for the services list

/** The attribute the runtime's RPC meter counts served calls in (src/runtime/rpc/meter.ts). */
export const SERVER_CALLS = "rpc.server.calls";
const CODE_LABEL = /[{,]code=([^,}]*)/;
/** How long a service's call attributes may be quiet and still count (as 0 calls). */
const QUIET_MS = 4 * MINUTE_MS;

export interface CallsMinute {
  calls: number;
  /** Calls that ended with a code other than `ok`. */
  errors: number;
}

/**
 * Per service, the calls its instances served in one minute (the service total of every
 * `rpc.server.calls{code,method,peer}` attribute, summed) and how many of them failed.
 * One query for every service: the services' call attributes with a point in the five
 * minutes up to the minute, each read at that minute through the primary key. A service
 * that served no call in the minute counts 0; one quiet for longer (or that never sent
 * RPC metrics) is absent.
 */
export async function callsAt(db: Db, minute: number): Promise<Map<string, CallsMinute>> {
  const rows = await db
    .selectFrom("metric_attrs as a")
    .leftJoin("metric_points as p", (j) =>
      j
        .onRef("p.service", "=", "a.service")
        .onRef("p.attr", "=", "a.attr")
        .on("p.instance", "=", TOTAL)
        .on("p.minute", "=", minute),
    )
    // The minute's total is in metric_points or in metric_recent (see recent.ts).
    .leftJoin("metric_recent as r", (j) =>
      j
        .on("r.minute", "=", minute)
        .onRef("r.service", "=", "a.service")
        .onRef("r.attr", "=", "a.attr")
        .on("r.instance", "=", TOTAL),
    )
    .select((eb) => ["a.service", "a.attr", eb.fn.coalesce("p.value", "r.value").as("value")])
    .where((eb) =>
      eb.or([eb("a.attr", "=", SERVER_CALLS), eb("a.attr", "like", `${SERVER_CALLS}{%`)]),
    )
    .where("a.last_minute", ">=", minute - QUIET_MS)
    .execute();
  const out = new Map<string, CallsMinute>();
  for (const r of rows) {
    if (r.attr !== SERVER_CALLS && !r.attr.startsWith(`${SERVER_CALLS}{`)) continue;
    let figures = out.get(r.service);
    if (!figures) {
      figures = { calls: 0, errors: 0 };
      out.set(r.service, figures);
    }
    const value = r.value ?? 0;
    figures.calls += value;
    const code = CODE_LABEL.exec(r.attr)?.[1];
    if (code !== undefined && code !== "ok") figures.errors += value;
  }
  return out;
}
