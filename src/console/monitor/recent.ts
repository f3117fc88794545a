import { PostgresAdapter, sql } from "kysely";
import { MINUTE_MS } from "../../core/schemas/monitor.js";
import type { Db } from "../store/schema.js";

/**
 * Metric points live in two tables (migration 0009): ingest writes `metric_recent`,
 * keyed by minute first, so that a commit appends at the right edge of its B-tree; the
 * merge moves closed minutes into `metric_points`, keyed by series, in series order and
 * bounded transactions. A row is in exactly one of the two at any time, so every read
 * takes the union (UNION ALL: nothing to deduplicate).
 *
 * The rule that keeps it so: `metric_merge.merged_before` (W) is raised by the merge
 * only; `metric_points` holds minutes below W only; a write of a minute below W first
 * moves that key's row from `metric_points` back into `metric_recent` ("claims" it).
 * On PostgreSQL writes hold a shared advisory lock and the merge an exclusive one, so W
 * does not move under a write (SQLite's writes are serial anyway).
 *
 * @example
 * const report = await runMerge(store.db, Date.now(), { afterMs: 2 * HOUR_MS });
 */

/** The advisory lock key of the merge (exclusive) against writes (shared). */
const MERGE_LOCK = 0x6d736563_0009n;

export function isPostgres(db: Db): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}

/** PostgreSQL, inside a write's transaction: wait for a merge chunk in progress, hold the next off. */
export async function lockForWrite(tx: Db): Promise<number> {
  await sql`select pg_advisory_xact_lock_shared(${MERGE_LOCK})`.execute(tx);
  return mergedBefore(tx);
}

/** W: rows of minutes before it may be in `metric_points`. */
export async function mergedBefore(db: Db): Promise<number> {
  const row = await db.selectFrom("metric_merge").select("merged_before").executeTakeFirst();
  return Number(row?.merged_before ?? 0);
}

export interface RecentRow {
  minute: number;
  value: number;
  hist: string | null;
}

/**
 * The distinct minutes `metric_recent` holds in [from, end), found by a skip scan of its
 * key (two seeks a minute, however many series each minute holds): a series' rows are
 * then one seek per minute. Neither engine skips on its own.
 */
function recentMinutes(from: number, end: number) {
  return sql`with recursive m(x) as (
      select min(minute) from metric_recent where minute >= ${from} and minute < ${end}
      union all
      select (select min(minute) from metric_recent where minute > m.x and minute < ${end})
      from m where m.x is not null
    )`;
}

/** One series' rows in `metric_recent` over [from, end), oldest first. */
export async function readRecent(
  db: Db,
  q: { service: string; attr: string; instance: string },
  from: number,
  end: number,
): Promise<RecentRow[]> {
  const { rows } = await sql<RecentRow>`${recentMinutes(from, end)}
    select r.minute as minute, r.value as value, r.hist as hist
    from m join metric_recent r on r.minute = m.x
    where r.service = ${q.service} and r.attr = ${q.attr} and r.instance = ${q.instance}
    order by r.minute`.execute(db);
  return rows.map((r) => ({ minute: Number(r.minute), value: r.value, hist: r.hist ?? null }));
}

/** Every instance's (the total's too) rows of one attribute in `metric_recent` over [from, end). */
export async function readRecentAttr(
  db: Db,
  service: string,
  attr: string,
  from: number,
  end: number,
): Promise<(RecentRow & { instance: string })[]> {
  const { rows } = await sql<RecentRow & { instance: string }>`${recentMinutes(from, end)}
    select r.instance as instance, r.minute as minute, r.value as value, r.hist as hist
    from m join metric_recent r on r.minute = m.x
    where r.service = ${service} and r.attr = ${attr}
    order by r.minute, r.instance`.execute(db);
  return rows.map((r) => ({
    instance: r.instance,
    minute: Number(r.minute),
    value: r.value,
    hist: r.hist ?? null,
  }));
}

/**
 * Two runs of rows, each oldest first, as one (parallel columns). `metric_points` holds
 * minutes before W, `metric_recent` mostly after it: usually an append.
 */
export function mergeColumns(
  a: { minute: number[]; value: number[]; hist: (string | null)[] | null },
  b: readonly RecentRow[],
): { minute: number[]; value: number[]; hist: (string | null)[] | null } {
  if (b.length === 0) return a;
  const last = a.minute.at(-1);
  if (last === undefined || (b[0] as RecentRow).minute > last) {
    for (const r of b) {
      a.minute.push(r.minute);
      a.value.push(r.value);
      a.hist?.push(r.hist);
    }
    return a;
  }
  const out = { minute: [] as number[], value: [] as number[], hist: a.hist ? [] : null } as {
    minute: number[];
    value: number[];
    hist: (string | null)[] | null;
  };
  let i = 0;
  let j = 0;
  while (i < a.minute.length || j < b.length) {
    const r = b[j];
    if (r && (i >= a.minute.length || r.minute < (a.minute[i] as number))) {
      out.minute.push(r.minute);
      out.value.push(r.value);
      out.hist?.push(r.hist);
      j++;
    } else {
      out.minute.push(a.minute[i] as number);
      out.value.push(a.value[i] as number);
      out.hist?.push(a.hist?.[i] ?? null);
      i++;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------
// The merge

export interface MergeSettings {
  /** Minutes older than this (ms) are moved into `metric_points` (default two hours). */
  afterMs: number;
}

export const DEFAULT_MERGE: MergeSettings = { afterMs: 2 * 60 * MINUTE_MS };

export interface MergeLimits {
  /** Rows moved per transaction (SQLite's writer waits meanwhile). */
  rowsPerChunk?: number;
  /** Rows moved in one run at most; then `more` is set. */
  rowsPerRun?: number;
}

export interface MergeReport {
  /** W after the run. */
  mergedBefore: number;
  moved: number;
  chunks: number;
  /** Rows older than W remain (a backlog): run again soon. */
  more: boolean;
}

const ROWS_PER_CHUNK = 20_000;
const ROWS_PER_RUN = 2_000_000;
/** Minutes moved together at most (a merge far behind takes several rounds). */
const MINUTES_PER_ROUND = 360;

interface SeriesKey {
  service: string;
  attr: string;
  instance: string;
}

/**
 * Raise W to the minute `afterMs` before now (never lower it), then move every row of
 * `metric_recent` below W into `metric_points`, a chunk per transaction. A chunk is a
 * range of series over all the minutes waiting: each series' page of `metric_points` is
 * written once per run however many minutes it gains (a range per minute to read and to
 * delete in `metric_recent`). Exactly once: the copy and the delete of the same ranges
 * commit together, and nothing writes those minutes meanwhile (SQLite's writer is
 * single; on PostgreSQL the merge holds the advisory lock that writes share).
 */
export async function runMerge(
  db: Db,
  now: number,
  s: MergeSettings = DEFAULT_MERGE,
  limits: MergeLimits = {},
): Promise<MergeReport> {
  const rowsPerChunk = limits.rowsPerChunk ?? ROWS_PER_CHUNK;
  const rowsPerRun = limits.rowsPerRun ?? ROWS_PER_RUN;
  const target = Math.floor((now - s.afterMs) / MINUTE_MS) * MINUTE_MS;
  const pg = isPostgres(db);
  const report: MergeReport = { mergedBefore: 0, moved: 0, chunks: 0, more: false };
  /** The last series moved in this round; null: none yet. */
  let after: SeriesKey | null = null;
  for (;;) {
    if (report.moved >= rowsPerRun) {
      report.more = true;
      break;
    }
    const done: boolean = await db.transaction().execute(async (tx) => {
      if (pg) await sql`select pg_advisory_xact_lock(${MERGE_LOCK})`.execute(tx);
      await tx
        .updateTable("metric_merge")
        .set({ merged_before: target })
        .where("merged_before", "<", target)
        .execute();
      const w = await mergedBefore(tx);
      report.mergedBefore = w;
      const { rows: found } = await sql<{ x: number | string | null }>`${recentMinutes(0, w)}
        select x from m where x is not null limit ${MINUTES_PER_ROUND}`.execute(tx);
      const minutes = found.map((r) => Number(r.x));
      const first = minutes[0];
      if (first === undefined) return true;
      const last = minutes.at(-1) as number;
      // Series for about rowsPerChunk rows: counted in the oldest waiting minute.
      const perSeries = Math.max(1, Math.ceil(rowsPerChunk / minutes.length));
      const seriesAfter = (prefix: string) =>
        after
          ? sql`and (${sql.ref(`${prefix}service`)}, ${sql.ref(`${prefix}attr`)}, ${sql.ref(`${prefix}instance`)}) > (${after.service}, ${after.attr}, ${after.instance})`
          : sql``;
      const bound = await sql<SeriesKey>`select service, attr, instance from metric_recent
        where minute = ${first} ${seriesAfter("")}
        order by service, attr, instance limit 1 offset ${perSeries - 1}`.execute(tx);
      const upTo = bound.rows[0];
      const range = (prefix: string) =>
        sql`${seriesAfter(prefix)} ${
          upTo
            ? sql`and (${sql.ref(`${prefix}service`)}, ${sql.ref(`${prefix}attr`)}, ${sql.ref(`${prefix}instance`)}) <= (${upTo.service}, ${upTo.attr}, ${upTo.instance})`
            : sql``
        }`;
      await sql`${recentMinutes(first, last + 1)}
        insert into metric_points (service, attr, instance, minute, value, hist)
        select r.service, r.attr, r.instance, r.minute, r.value, r.hist
        from m join metric_recent r on r.minute = m.x
        where m.x < ${w} ${range("r.")}
        order by r.service, r.attr, r.instance, r.minute
        on conflict (service, attr, instance, minute)
        do update set value = excluded.value, hist = excluded.hist`.execute(tx);
      let moved = 0;
      for (const minute of minutes) {
        const del =
          await sql`delete from metric_recent where minute = ${minute} ${range("")}`.execute(tx);
        moved += Number(del.numAffectedRows ?? 0n);
      }
      report.moved += moved;
      report.chunks++;
      // The last range of the round: the next round starts from the first series again.
      after = upTo ?? null;
      return false;
    });
    if (done) break;
  }
  return report;
}
