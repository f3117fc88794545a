import type SQLite from "better-sqlite3";
import { sql } from "kysely";
import type { HistogramValue, IngestPoint, MetricKind } from "../../core/schemas/monitor.js";
import { TOTAL } from "../../core/schemas/monitor.js";
import { onSqliteConnection, type Store } from "../store/index.js";
import type { Db } from "../store/schema.js";

/** Points of one instance for one minute, already validated. */
export interface MinutePoints {
  minute: number;
  points: IngestPoint[];
}

export interface StoredPoint {
  minute: number;
  value: number;
  hist: HistogramValue | null;
}

interface Row {
  attr: string;
  minute: number;
  value: number;
  hist: HistogramValue | undefined;
}

/**
 * Store one instance's points, replacing what that instance sent before for the same
 * minutes (senders resend the growing current minute), and move the service totals
 * (instance `*`) by the difference — all in one transaction. Returns the number of
 * points stored.
 *
 * Per-row SQL through Kysely could not keep up with a fleet's minute batches, so each
 * engine gets its bulk path: prepared statements in one synchronous transaction on
 * SQLite, array parameters (`unnest`) on PostgreSQL. The store suite checks both agree.
 */
export function writePoints(
  store: Store,
  service: string,
  instance: string,
  minutes: readonly MinutePoints[],
): Promise<number> {
  return writeBatches(store, [{ service, instance, minutes }]);
}

/** Several instances' points (an agent's machine, one minute) in ONE transaction. */
export interface InstanceBatch {
  service: string;
  instance: string;
  minutes: readonly MinutePoints[];
}

/**
 * `writePoints` for many instances at once. One commit for a whole batch is what makes
 * ingest fast: a commit costs about as much as thousands of row writes.
 */
export async function writeBatches(
  store: Store,
  batches: readonly InstanceBatch[],
): Promise<number> {
  const planned = batches.map(plan).filter((p) => p.rows.length > 0);
  if (planned.length === 0) return 0;
  if (store.native.engine === "sqlite") {
    const database = store.native.database;
    await onSqliteConnection(store.db, () => writeSqlite(database, planned));
  } else {
    await store.transaction(async (tx) => {
      for (const { service, instance, rows, kinds } of planned) {
        const plain = rows.filter((r) => !r.hist);
        for (let i = 0; i < plain.length; i += 5000)
          await writePlainPostgres(tx, service, instance, plain.slice(i, i + 5000));
        for (const r of rows) if (r.hist) await writeHistogram(tx, service, instance, r);
        await upsertAttrs(tx, service, kinds);
      }
    });
  }
  return planned.reduce((n, p) => n + p.rows.length, 0);
}

interface Planned {
  service: string;
  instance: string;
  rows: Row[];
  kinds: Map<string, AttrSpan>;
}

function plan(batch: InstanceBatch): Planned {
  // The last point for an (attribute, minute) wins, as a resend would.
  const byKey = new Map<string, Row>();
  const kinds = new Map<string, AttrSpan>();
  for (const m of batch.minutes) {
    for (const p of m.points) {
      byKey.set(`${p.attr}\u0000${m.minute}`, {
        attr: p.attr,
        minute: m.minute,
        value: p.value,
        hist: p.hist,
      });
      const k = kinds.get(p.attr);
      if (!k) kinds.set(p.attr, { kind: p.kind, first: m.minute, last: m.minute });
      else {
        k.kind = p.kind;
        k.first = Math.min(k.first, m.minute);
        k.last = Math.max(k.last, m.minute);
      }
    }
  }
  return { service: batch.service, instance: batch.instance, rows: [...byKey.values()], kinds };
}

interface AttrSpan {
  kind: MetricKind;
  first: number;
  last: number;
}

interface SqliteStatements {
  get: SQLite.Statement;
  upsert: SQLite.Statement;
  attr: SQLite.Statement;
}

const prepared = new WeakMap<SQLite.Database, SqliteStatements>();

function sqliteStatements(database: SQLite.Database): SqliteStatements {
  let s = prepared.get(database);
  if (!s) {
    s = {
      get: database.prepare(
        "select value, hist from metric_points where service = ? and attr = ? and instance = ? and minute = ?",
      ),
      upsert: database.prepare(
        `insert into metric_points (service, attr, instance, minute, value, hist) values (?, ?, ?, ?, ?, ?)
         on conflict (service, attr, instance, minute) do update set value = excluded.value, hist = excluded.hist`,
      ),
      attr: database.prepare(
        `insert into metric_attrs (service, attr, kind, first_minute, last_minute) values (?, ?, ?, ?, ?)
         on conflict (service, attr) do update set kind = excluded.kind,
           first_minute = min(metric_attrs.first_minute, excluded.first_minute),
           last_minute = max(metric_attrs.last_minute, excluded.last_minute)`,
      ),
    };
    prepared.set(database, s);
  }
  return s;
}

/** SQLite: one synchronous transaction, so nothing else runs on the connection meanwhile. */
function writeSqlite(database: SQLite.Database, planned: readonly Planned[]): void {
  const st = sqliteStatements(database);
  // Metric points may skip the fsync at commit (WAL with synchronous=NORMAL): a killed
  // process still loses nothing, a power cut may lose the last seconds of points. The
  // connection is ours alone for this synchronous stretch, so nothing else runs under it.
  database.pragma("synchronous = NORMAL");
  try {
    database.transaction(() => {
      for (const p of planned) writeSqliteRows(st, p.service, p.instance, p.rows, p.kinds);
    })();
  } finally {
    database.pragma("synchronous = FULL");
  }
}

function writeSqliteRows(
  st: SqliteStatements,
  service: string,
  instance: string,
  rows: Row[],
  kinds: Map<string, AttrSpan>,
): void {
  for (const r of rows) {
    if (!r.hist) {
      // The table's triggers move the service total (migration 0003).
      st.upsert.run(service, r.attr, instance, r.minute, r.value, null);
      continue;
    }
    const old = st.get.get(service, r.attr, instance, r.minute) as
      | { value: number; hist: string | null }
      | undefined;
    {
      const total = st.get.get(service, r.attr, TOTAL, r.minute) as
        | { value: number; hist: string | null }
        | undefined;
      const hist = mergeHist(subtractHist(parseHist(total?.hist), parseHist(old?.hist)), r.hist);
      st.upsert.run(service, r.attr, instance, r.minute, r.value, JSON.stringify(r.hist));
      st.upsert.run(
        service,
        r.attr,
        TOTAL,
        r.minute,
        (total?.value ?? 0) - (old?.value ?? 0) + r.value,
        hist ? JSON.stringify(hist) : null,
      );
    }
  }
  for (const [attr, k] of kinds) st.attr.run(service, attr, k.kind, k.first, k.last);
}

/** PostgreSQL: read the old values, write the new ones, add the differences to the totals — three statements. */
async function writePlainPostgres(
  db: Db,
  service: string,
  instance: string,
  rows: Row[],
): Promise<void> {
  const attrs = rows.map((r) => r.attr);
  const mins = rows.map((r) => r.minute);
  const found = await sql<{ i: number; value: number }>`
    select (u.i - 1)::int as i, p.value as value
    from unnest(${attrs}::text[], ${mins}::bigint[]) with ordinality as u(attr, minute, i)
    join metric_points p on p.service = ${service} and p.attr = u.attr and p.instance = ${instance} and p.minute = u.minute`.execute(
    db,
  );
  const old = new Map(found.rows.map((r) => [Number(r.i), r.value]));
  const upsert = (inst: string, values: number[], add: boolean) => sql`
    insert into metric_points (service, attr, instance, minute, value, hist)
    select ${service}, u.attr, ${inst}, u.minute, u.value, null
    from unnest(${attrs}::text[], ${mins}::bigint[], ${values}::float8[]) as u(attr, minute, value)
    on conflict (service, attr, instance, minute) do update set value = ${add ? sql`metric_points.value + excluded.value` : sql`excluded.value`}`;
  await upsert(
    instance,
    rows.map((r) => r.value),
    false,
  ).execute(db);
  await upsert(
    TOTAL,
    rows.map((r, i) => r.value - (old.get(i) ?? 0)),
    true,
  ).execute(db);
}

function parseHist(text: string | null | undefined): HistogramValue | null {
  return text ? (JSON.parse(text) as HistogramValue) : null;
}

/** Histograms are few (latency per method): the plain Kysely path, merging buckets in JS. */
async function writeHistogram(db: Db, service: string, instance: string, r: Row): Promise<void> {
  const key = (inst: string) =>
    db
      .selectFrom("metric_points")
      .select(["value", "hist"])
      .where("service", "=", service)
      .where("attr", "=", r.attr)
      .where("instance", "=", inst)
      .where("minute", "=", r.minute)
      .executeTakeFirst();
  const [old, total] = await Promise.all([key(instance), key(TOTAL)]);
  const oldHist = old?.hist ? (JSON.parse(old.hist) as HistogramValue) : null;
  const totalHist = total?.hist ? (JSON.parse(total.hist) as HistogramValue) : null;
  const newTotal = mergeHist(subtractHist(totalHist, oldHist), r.hist ?? null);
  await upsertOne(db, service, r.attr, instance, r.minute, r.value, r.hist ?? null);
  await upsertOne(
    db,
    service,
    r.attr,
    TOTAL,
    r.minute,
    (total?.value ?? 0) - (old?.value ?? 0) + r.value,
    newTotal,
  );
}

function upsertOne(
  db: Db,
  service: string,
  attr: string,
  instance: string,
  minute: number,
  value: number,
  hist: HistogramValue | null,
) {
  const h = hist ? JSON.stringify(hist) : null;
  return db
    .insertInto("metric_points")
    .values({ service, attr, instance, minute, value, hist: h })
    .onConflict((oc) =>
      oc.columns(["service", "attr", "instance", "minute"]).doUpdateSet({ value, hist: h }),
    )
    .execute();
}

/** Sum two histograms with the same bounds; differing bounds keep the first (a config change mid-minute). */
export function mergeHist(
  a: HistogramValue | null,
  b: HistogramValue | null,
): HistogramValue | null {
  if (!a) return b;
  if (!b) return a;
  if (!sameBounds(a, b)) return a;
  return {
    bounds: a.bounds,
    counts: a.counts.map((c, i) => c + (b.counts[i] ?? 0)),
    sum: a.sum + b.sum,
  };
}

function subtractHist(a: HistogramValue | null, b: HistogramValue | null): HistogramValue | null {
  if (!a || !b || !sameBounds(a, b)) return a;
  return {
    bounds: a.bounds,
    counts: a.counts.map((c, i) => Math.max(0, c - (b.counts[i] ?? 0))),
    sum: a.sum - b.sum,
  };
}

function sameBounds(a: HistogramValue, b: HistogramValue): boolean {
  return a.bounds.length === b.bounds.length && a.bounds.every((x, i) => x === b.bounds[i]);
}

/** PostgreSQL only (SQLite does this in its native transaction). */
async function upsertAttrs(db: Db, service: string, kinds: Map<string, AttrSpan>) {
  const rows = [...kinds].map(([attr, k]) => ({
    service,
    attr,
    kind: k.kind,
    first_minute: k.first,
    last_minute: k.last,
  }));
  for (let i = 0; i < rows.length; i += 1000) {
    await db
      .insertInto("metric_attrs")
      .values(rows.slice(i, i + 1000))
      .onConflict((oc) =>
        oc.columns(["service", "attr"]).doUpdateSet((eb) => ({
          kind: eb.ref("excluded.kind"),
          first_minute: eb.fn("least", [
            eb.ref("metric_attrs.first_minute"),
            eb.ref("excluded.first_minute"),
          ]),
          last_minute: eb.fn("greatest", [
            eb.ref("metric_attrs.last_minute"),
            eb.ref("excluded.last_minute"),
          ]),
        })),
      )
      .execute();
  }
}

/** One attribute of one instance (or `*`) over [from, to], oldest first; minutes with no point are absent. */
export async function readMinutes(
  db: Db,
  q: { service: string; attr: string; instance: string; from: number; to: number },
): Promise<StoredPoint[]> {
  const rows = await db
    .selectFrom("metric_points")
    .select(["minute", "value", "hist"])
    .where("service", "=", q.service)
    .where("attr", "=", q.attr)
    .where("instance", "=", q.instance)
    .where("minute", ">=", q.from)
    .where("minute", "<=", q.to)
    .orderBy("minute")
    .execute();
  return rows.map((r) => ({
    minute: Number(r.minute),
    value: r.value,
    hist: r.hist ? (JSON.parse(r.hist) as HistogramValue) : null,
  }));
}
