import type SQLite from "better-sqlite3";
import { sql } from "kysely";
import { MsecError } from "../../core/errors.js";
import type { HistogramValue, IngestPoint, MetricKind } from "../../core/schemas/monitor.js";
import { TOTAL } from "../../core/schemas/monitor.js";
import { onSqliteConnection, type Store } from "../store/index.js";
import type { Db } from "../store/schema.js";
import { lockForWrite, mergeColumns, readRecent } from "./recent.js";

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
 *
 * Points go to `metric_recent` (keyed by minute first, see recent.ts); a minute the
 * merge already passed first has its rows moved back there from `metric_points`.
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
 * ingest fast: a commit costs about as much as thousands of row writes. Returns the
 * number of points stored (a point repeated in the batch counts each time; the last wins).
 */
export async function writeBatches(
  store: Store,
  batches: readonly InstanceBatch[],
): Promise<number> {
  if (!batches.some((b) => b.minutes.some((m) => m.points.length > 0))) return 0;
  for (const b of batches) {
    if (b.instance === TOTAL)
      throw new MsecError("invalid_argument", `instance "${TOTAL}" is the service total`, {
        field: "instance",
      });
  }
  if (store.native.engine === "sqlite") {
    const database = store.native.database;
    return onSqliteConnection(store.db, () => writeSqlite(database, batches));
  }
  const planned = batches.map(plan).filter((p) => p.rows.length > 0);
  await store.transaction(async (tx) => {
    const w = await lockForWrite(tx);
    for (const { service, instance, rows } of planned) {
      const old = rows.filter((r) => r.minute < w);
      if (old.length > 0) {
        for (const inst of [instance, TOTAL]) {
          for (let i = 0; i < old.length; i += 5000)
            await claimPostgres(tx, service, inst, old.slice(i, i + 5000));
        }
      }
      const plain = rows.filter((r) => !r.hist);
      for (let i = 0; i < plain.length; i += 5000)
        await writePlainPostgres(tx, service, instance, plain.slice(i, i + 5000));
      for (const r of rows) if (r.hist) await writeHistogram(tx, service, instance, r);
    }
    for (const [service, kinds] of attrSpans(batches)) await upsertAttrs(tx, service, kinds);
  });
  return planned.reduce((n, p) => n + p.points, 0);
}

interface Planned {
  service: string;
  instance: string;
  /** One per (attribute, minute): PostgreSQL's `on conflict` cannot touch a row twice. */
  rows: Row[];
  points: number;
}

function plan(batch: InstanceBatch): Planned {
  // The last point for an (attribute, minute) wins, as a resend would.
  const byKey = new Map<string, Row>();
  let points = 0;
  for (const m of batch.minutes) {
    for (const p of m.points) {
      byKey.set(`${p.attr}\u0000${m.minute}`, {
        attr: p.attr,
        minute: m.minute,
        value: p.value,
        hist: p.hist,
      });
      points++;
    }
  }
  return { service: batch.service, instance: batch.instance, rows: [...byKey.values()], points };
}

interface AttrSpan {
  kind: MetricKind;
  first: number;
  last: number;
}

/** Per service, each attribute's kind (the last sent wins) and the minutes it spans. */
function attrSpans(batches: readonly InstanceBatch[]): Map<string, Map<string, AttrSpan>> {
  const services = new Map<string, Map<string, AttrSpan>>();
  for (const b of batches) {
    let kinds = services.get(b.service);
    if (!kinds) {
      kinds = new Map();
      services.set(b.service, kinds);
    }
    for (const m of b.minutes) {
      for (const p of m.points) {
        const k = kinds.get(p.attr);
        if (!k) kinds.set(p.attr, { kind: p.kind, first: m.minute, last: m.minute });
        else {
          k.kind = p.kind;
          if (m.minute < k.first) k.first = m.minute;
          if (m.minute > k.last) k.last = m.minute;
        }
      }
    }
  }
  return services;
}

interface SqliteStatements {
  mergedBefore: SQLite.Statement;
  claimCopy: SQLite.Statement;
  claimDelete: SQLite.Statement;
  get: SQLite.Statement;
  put: SQLite.Statement;
  upsert: SQLite.Statement;
  addTotal: SQLite.Statement;
  attr: SQLite.Statement;
}

const prepared = new WeakMap<SQLite.Database, SqliteStatements>();

/**
 * The value the last put replaced, or undefined when it inserted. SQLite calls
 * `msec_replaced(old, new)` inside the upsert, only on a conflict: the old value comes
 * back without a second statement. Synchronous, so no other put runs in between.
 */
const replaced: { value: number | undefined } = { value: undefined };

function sqliteStatements(database: SQLite.Database): SqliteStatements {
  let s = prepared.get(database);
  if (!s) {
    database.function("msec_replaced", { deterministic: false }, (old, next) => {
      replaced.value = old as number;
      return next;
    });
    const key = "service = ? and attr = ? and instance = ? and minute = ?";
    const cols = "(minute, service, attr, instance, value, hist)";
    const conflict = "on conflict (minute, service, attr, instance)";
    s = {
      mergedBefore: database.prepare("select merged_before from metric_merge").pluck(true),
      // A key of a minute the merge passed: its row (if any) moves back to metric_recent.
      claimCopy: database.prepare(
        `insert into metric_recent ${cols}
         select minute, service, attr, instance, value, hist from metric_points where ${key}
         ${conflict} do nothing`,
      ),
      claimDelete: database.prepare(`delete from metric_points where ${key}`),
      get: database.prepare(
        `select value, hist from metric_recent where minute = ? and service = ? and attr = ? and instance = ?`,
      ),
      // The value a put replaced reaches JavaScript through msec_replaced (above).
      put: database.prepare(
        `insert into metric_recent ${cols} values (?, ?, ?, ?, ?, null)
         ${conflict} do update set value = msec_replaced(metric_recent.value, excluded.value), hist = null`,
      ),
      upsert: database.prepare(
        `insert into metric_recent ${cols} values (?, ?, ?, ?, ?, ?)
         ${conflict} do update set value = excluded.value, hist = excluded.hist`,
      ),
      addTotal: database.prepare(
        `insert into metric_recent ${cols} values (?, ?, ?, '${TOTAL}', ?, null)
         ${conflict} do update set value = metric_recent.value + excluded.value`,
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

/** What a batch does to one attribute of a service: its kind and span, and its totals' moves. */
interface AttrAcc extends AttrSpan {
  /** The total of the minute last touched (most batches hold one minute). */
  current: TotalMove;
  /** Every minute's move once the batch holds more than one minute. */
  minutes: Map<number, TotalMove> | null;
}

interface TotalMove {
  minute: number;
  /** Sum over the batch's plain points of (new value − the value it replaced). */
  delta: number;
  /** A point was inserted: the total row must exist even if the delta is 0. */
  inserted: boolean;
}

/**
 * SQLite: one synchronous transaction, so nothing else runs on the connection meanwhile.
 *
 * One statement per plain point, new or resent: the upsert hands back the value it
 * replaced (see `replaced`), and the batch sums the differences per (attribute, minute).
 * Each service total then moves once per (attribute, minute) of the batch, not once per
 * point (the triggers of migration 0003 did that; 0008 dropped them). The old values
 * are read under the transaction's write lock, so the totals stay exact.
 */
function writeSqlite(database: SQLite.Database, batches: readonly InstanceBatch[]): number {
  const st = sqliteStatements(database);
  // Metric points may skip the fsync at commit (WAL with synchronous=NORMAL): a killed
  // process still loses nothing, a power cut may lose the last seconds of points. The
  // connection is ours alone for this synchronous stretch, so nothing else runs under it.
  database.pragma("synchronous = NORMAL");
  try {
    return database
      .transaction(() => {
        const w = Number(st.mergedBefore.get());
        const services = new Map<string, Map<string, AttrAcc>>();
        let stored = 0;
        for (const b of batches) {
          const { service, instance } = b;
          let attrs = services.get(service);
          if (!attrs) {
            attrs = new Map();
            services.set(service, attrs);
          }
          for (const m of b.minutes) {
            const minute = m.minute;
            for (const p of m.points) {
              const attr = p.attr;
              let acc = attrs.get(attr);
              if (!acc) {
                acc = {
                  kind: p.kind,
                  first: minute,
                  last: minute,
                  current: { minute, delta: 0, inserted: false },
                  minutes: null,
                };
                attrs.set(attr, acc);
              } else {
                acc.kind = p.kind;
                if (minute < acc.first) acc.first = minute;
                if (minute > acc.last) acc.last = minute;
              }
              stored++;
              if (minute < w) claimSqlite(st, service, attr, instance, minute);
              if (p.hist) {
                writeSqliteHistogram(st, service, instance, minute, p, w);
                continue;
              }
              const move = acc.current.minute === minute ? acc.current : totalMove(acc, minute);
              const value = p.value;
              replaced.value = undefined;
              st.put.run(minute, service, attr, instance, value);
              const old = replaced.value;
              if (old === undefined) {
                move.delta += value;
                move.inserted = true;
              } else move.delta += value - old;
            }
          }
        }
        for (const [service, attrs] of services) {
          for (const [attr, acc] of attrs) {
            if (acc.minutes) {
              for (const move of acc.minutes.values()) applyTotal(st, service, attr, move, w);
            } else applyTotal(st, service, attr, acc.current, w);
            st.attr.run(service, attr, acc.kind, acc.first, acc.last);
          }
        }
        return stored;
      })
      .immediate();
  } finally {
    database.pragma("synchronous = FULL");
  }
}

function totalMove(acc: AttrAcc, minute: number): TotalMove {
  if (!acc.minutes) {
    acc.minutes = new Map([[acc.current.minute, acc.current]]);
  }
  let move = acc.minutes.get(minute);
  if (!move) {
    move = { minute, delta: 0, inserted: false };
    acc.minutes.set(minute, move);
  }
  acc.current = move;
  return move;
}

function applyTotal(
  st: SqliteStatements,
  service: string,
  attr: string,
  move: TotalMove,
  w: number,
): void {
  if (!move.inserted && move.delta === 0) return;
  if (move.minute < w) claimSqlite(st, service, attr, TOTAL, move.minute);
  st.addTotal.run(move.minute, service, attr, move.delta);
}

/** A minute the merge passed (rare: a late sender): the key's row moves back to metric_recent. */
function claimSqlite(
  st: SqliteStatements,
  service: string,
  attr: string,
  instance: string,
  minute: number,
): void {
  if (st.claimCopy.run(service, attr, instance, minute).changes > 0)
    st.claimDelete.run(service, attr, instance, minute);
}

/** Histograms are few (latency per method): read the old point and the total, merge in JS. */
function writeSqliteHistogram(
  st: SqliteStatements,
  service: string,
  instance: string,
  minute: number,
  p: IngestPoint,
  w: number,
): void {
  if (minute < w) claimSqlite(st, service, p.attr, TOTAL, minute);
  const old = st.get.get(minute, service, p.attr, instance) as
    | { value: number; hist: string | null }
    | undefined;
  const total = st.get.get(minute, service, p.attr, TOTAL) as
    | { value: number; hist: string | null }
    | undefined;
  const hist = mergeHist(
    subtractHist(parseHist(total?.hist), parseHist(old?.hist)),
    p.hist ?? null,
  );
  st.upsert.run(minute, service, p.attr, instance, p.value, JSON.stringify(p.hist));
  st.upsert.run(
    minute,
    service,
    p.attr,
    TOTAL,
    (total?.value ?? 0) - (old?.value ?? 0) + p.value,
    hist ? JSON.stringify(hist) : null,
  );
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
    join metric_recent p on p.minute = u.minute and p.service = ${service} and p.attr = u.attr and p.instance = ${instance}`.execute(
    db,
  );
  const old = new Map(found.rows.map((r) => [Number(r.i), r.value]));
  const upsert = (inst: string, values: number[], add: boolean) => sql`
    insert into metric_recent (minute, service, attr, instance, value, hist)
    select u.minute, ${service}, u.attr, ${inst}, u.value, null
    from unnest(${attrs}::text[], ${mins}::bigint[], ${values}::float8[]) as u(attr, minute, value)
    on conflict (minute, service, attr, instance) do update set value = ${add ? sql`metric_recent.value + excluded.value` : sql`excluded.value`}`;
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

/** PostgreSQL: `claimSqlite` for many keys of one series at once (minutes the merge passed). */
async function claimPostgres(
  db: Db,
  service: string,
  instance: string,
  rows: readonly Row[],
): Promise<void> {
  await sql`with moved as (
      delete from metric_points p
      using unnest(${rows.map((r) => r.attr)}::text[], ${rows.map((r) => r.minute)}::bigint[]) as u(attr, minute)
      where p.service = ${service} and p.attr = u.attr and p.instance = ${instance} and p.minute = u.minute
      returning p.minute, p.service, p.attr, p.instance, p.value, p.hist
    )
    insert into metric_recent (minute, service, attr, instance, value, hist)
    select minute, service, attr, instance, value, hist from moved
    on conflict (minute, service, attr, instance) do nothing`.execute(db);
}

function parseHist(text: string | null | undefined): HistogramValue | null {
  return text ? (JSON.parse(text) as HistogramValue) : null;
}

/** Histograms are few (latency per method): the plain Kysely path, merging buckets in JS. */
async function writeHistogram(db: Db, service: string, instance: string, r: Row): Promise<void> {
  const key = (inst: string) =>
    db
      .selectFrom("metric_recent")
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
    .insertInto("metric_recent")
    .values({ minute, service, attr, instance, value, hist: h })
    .onConflict((oc) =>
      oc.columns(["minute", "service", "attr", "instance"]).doUpdateSet({ value, hist: h }),
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

/**
 * One attribute of one instance (or `*`) over [from, to], oldest first; minutes with no
 * point are absent. Both tables: a point is in one or the other.
 */
export async function readMinutes(
  db: Db,
  q: { service: string; attr: string; instance: string; from: number; to: number },
): Promise<StoredPoint[]> {
  const [rows, recent] = await Promise.all([
    db
      .selectFrom("metric_points")
      .select(["minute", "value", "hist"])
      .where("service", "=", q.service)
      .where("attr", "=", q.attr)
      .where("instance", "=", q.instance)
      .where("minute", ">=", q.from)
      .where("minute", "<=", q.to)
      .orderBy("minute")
      .execute(),
    readRecent(db, q, q.from, q.to + 1),
  ]);
  const c = mergeColumns(
    {
      minute: rows.map((r) => Number(r.minute)),
      value: rows.map((r) => r.value),
      hist: rows.map((r) => r.hist),
    },
    recent,
  );
  return c.minute.map((minute, i) => {
    const hist = c.hist?.[i];
    return {
      minute,
      value: c.value[i] as number,
      hist: hist ? (JSON.parse(hist) as HistogramValue) : null,
    };
  });
}
