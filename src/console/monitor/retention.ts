import { MsecError } from "../../core/errors.js";
import type { Logger } from "../../core/log.js";
import { type HistogramValue, type MetricKind, MINUTE_MS } from "../../core/schemas/monitor.js";
import type { Store } from "../store/index.js";
import type { Db, MetricHoursTable } from "../store/schema.js";
import { DAY_MS, HOUR_MS } from "./buckets.js";
import { mergeHistograms } from "./histogram.js";
import { DEFAULT_MERGE, type MergeReport, type MergeSettings, runMerge } from "./recent.js";
import { INSTANCES_PER_QUERY, seriesInstances } from "./series.js";

/**
 * Retention of metric points: minutes older than `minuteDays` are folded into hourly
 * rows (`metric_hours`) and deleted; hourly rows older than `hourDays` are deleted.
 * The decisions are pure functions of the clock and the settings; the runner applies
 * them once an hour. The same runner merges closed minutes from the staging table
 * `metric_recent` into `metric_points` every 15 minutes (recent.ts), never at the same
 * time as retention.
 *
 * @example
 * const r = createRetentionRunner({ store, log, now: Date.now, settings: retentionFromEnv(process.env) });
 * r.start(); // ... await r.stop();
 */

export interface RetentionSettings {
  /** Days of per-minute points (MSEC_METRICS_RETENTION_DAYS, default 30). */
  minuteDays: number;
  /** Days of hourly rollups (MSEC_METRICS_HOURLY_RETENTION_DAYS, default 365). */
  hourDays: number;
  /**
   * Minutes after which points move from `metric_recent` into `metric_points`
   * (MSEC_METRICS_MERGE_AFTER_MINUTES, 5 to 1440; default 120, see recent.ts).
   */
  mergeAfterMinutes?: number;
}

export const DEFAULT_RETENTION: RetentionSettings = { minuteDays: 30, hourDays: 365 };
const MAX_DAYS = 3650;

/** Settings from the environment; a bad value stops the console with the variable named. */
export function retentionFromEnv(env: NodeJS.ProcessEnv): RetentionSettings {
  const days = (name: string, fallback: number, min: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === "") return fallback;
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n < min || n > MAX_DAYS) {
      throw new MsecError(
        "invalid_argument",
        `${name} must be a whole number of days from ${min} to ${MAX_DAYS}, not "${raw}"`,
        { field: name },
      );
    }
    return n;
  };
  const minuteDays = days("MSEC_METRICS_RETENTION_DAYS", DEFAULT_RETENTION.minuteDays, 1);
  const hourDays = days(
    "MSEC_METRICS_HOURLY_RETENTION_DAYS",
    Math.max(DEFAULT_RETENTION.hourDays, minuteDays),
    minuteDays,
  );
  const merge = env.MSEC_METRICS_MERGE_AFTER_MINUTES;
  if (merge === undefined || merge === "") return { minuteDays, hourDays };
  const n = Number(merge);
  if (!/^\d+$/.test(merge) || n < 5 || n > 1440) {
    throw new MsecError(
      "invalid_argument",
      `MSEC_METRICS_MERGE_AFTER_MINUTES must be a whole number of minutes from 5 to 1440, not "${merge}"`,
      { field: "MSEC_METRICS_MERGE_AFTER_MINUTES" },
    );
  }
  return { minuteDays, hourDays, mergeAfterMinutes: n };
}

const floorHour = (t: number) => Math.floor(t / HOUR_MS) * HOUR_MS;

/** Minutes before this are due for rollup: a whole hour, so an hour is rolled at once. */
export function minuteCutoff(now: number, s: RetentionSettings): number {
  return floorHour(now - s.minuteDays * DAY_MS);
}

/** Hourly rows (and minutes) before this are deleted. */
export function hourCutoff(now: number, s: RetentionSettings): number {
  return floorHour(now - s.hourDays * DAY_MS);
}

export interface MinuteRow {
  service: string;
  attr: string;
  instance: string;
  minute: number;
  value: number;
  hist: string | null;
}

/** One rolled-up hour, as the `metric_hours` table holds it. */
export type HourRow = MetricHoursTable;

interface HourAcc {
  row: MinuteRow;
  kind: MetricKind;
  samples: number;
  sum: number;
  min: number;
  max: number;
  lastMinute: number;
  last: number;
  hist: HistogramValue | null;
}

export interface HourRollup {
  add(r: MinuteRow): void;
  rows(): HourRow[];
}

/**
 * Folds minute rows of one hour into hourly rows, one per (service, attr, instance):
 * `value` is a counter's sum, a gauge's mean, a histogram's count. Order-independent.
 */
export function hourRollup(
  hour: number,
  kindOf: (service: string, attr: string) => MetricKind,
): HourRollup {
  const accs = new Map<string, HourAcc>();
  return {
    add(r) {
      const key = `${r.service}\u0000${r.attr}\u0000${r.instance}`;
      const hist = r.hist ? (JSON.parse(r.hist) as HistogramValue) : null;
      const a = accs.get(key);
      if (!a) {
        const kind = kindOf(r.service, r.attr);
        const v = r.value;
        accs.set(key, {
          row: r,
          kind,
          samples: 1,
          sum: v,
          min: v,
          max: v,
          lastMinute: r.minute,
          last: v,
          hist,
        });
        return;
      }
      a.samples++;
      a.sum += r.value;
      if (r.value < a.min) a.min = r.value;
      if (r.value > a.max) a.max = r.value;
      if (r.minute > a.lastMinute) {
        a.lastMinute = r.minute;
        a.last = r.value;
      }
      a.hist = mergeHistograms(a.hist, hist);
    },
    rows() {
      return [...accs.values()].map((a) => ({
        service: a.row.service,
        attr: a.row.attr,
        instance: a.row.instance,
        hour,
        value: a.kind === "gauge" ? a.sum / a.samples : a.sum,
        samples: a.samples,
        min: a.min,
        max: a.max,
        last: a.last,
        hist: a.hist ? JSON.stringify(a.hist) : null,
      }));
    },
  };
}

// SQLite allows 32,766 bound values per statement; 10 per row leaves room.
const ROWS_PER_INSERT = 1000;
/** Minute rows read at once (an attribute's series, in key order); far more than an hour's 60. */
const ROWS_PER_READ = 20_000;
/** Minute rows read in one run at most; a backlog continues right after. */
const ROWS_PER_RUN = 2_000_000;

/** How much one run does at most (tests make them small). */
export interface RetentionLimits {
  /** Minute rows read in one run; then `more` is set. */
  rowsPerRun?: number;
  /** Minute rows read at once; more than 60 (an hour of one series' minutes). */
  rowsPerRead?: number;
}

export interface RetentionReport {
  /** Distinct hours folded into hourly rows. */
  rolledHours: number;
  hourRows: number;
  deletedMinutes: number;
  deletedHours: number;
  /** Work remains (a backlog): run again soon. */
  more: boolean;
}

/**
 * Apply retention once: delete old hourly rows, then walk every series (service,
 * attribute, instance, the total `*` included) along its primary key — fold its minutes
 * older than the minute retention into hourly rows and delete them (minutes older than
 * even the hourly retention are just deleted) — and forget attributes with nothing left.
 * Attributes whose first minute is recent are skipped without a read.
 */
export async function runRetention(
  db: Db,
  now: number,
  s: RetentionSettings,
  limits: RetentionLimits = {},
): Promise<RetentionReport> {
  const rowsPerRun = limits.rowsPerRun ?? ROWS_PER_RUN;
  const rowsPerRead = limits.rowsPerRead ?? ROWS_PER_READ;
  const report: RetentionReport = {
    rolledHours: 0,
    hourRows: 0,
    deletedMinutes: 0,
    deletedHours: 0,
    more: false,
  };
  const dropBefore = hourCutoff(now, s);
  const cutoff = minuteCutoff(now, s);
  // Minutes past the cutoff still in metric_recent (a merge behind, or a late sender)
  // move first: retention walks metric_points alone.
  const merged = await runMerge(db, now, { afterMs: now - cutoff });
  if (merged.more) {
    report.more = true;
    return report;
  }
  const del = await db.deleteFrom("metric_hours").where("hour", "<", dropBefore).executeTakeFirst();
  report.deletedHours = Number(del.numDeletedRows);

  // first_minute never rises (ingest keeps the least minute ever sent), so no point of
  // an attribute is older than it: an attribute first seen after the cutoff has no work.
  const attrs = await db
    .selectFrom("metric_attrs")
    .select(["service", "attr", "kind"])
    .where("first_minute", "<", cutoff)
    .orderBy("service")
    .orderBy("attr")
    .execute();
  const hours = new Set<number>();
  let read = 0;
  walk: for (const a of attrs) {
    const instances = await seriesInstances(db, "metric_points", a.service, a.attr);
    for (let i = 0; i < instances.length; i += INSTANCES_PER_QUERY) {
      let chunk = instances.slice(i, i + INSTANCES_PER_QUERY);
      while (chunk.length > 0) {
        if (read >= rowsPerRun) {
          report.more = true;
          break walk;
        }
        const r = await retainChunk(
          db,
          { service: a.service, attr: a.attr, kind: a.kind as MetricKind },
          chunk,
          { dropBefore, cutoff, rowsPerRead },
          hours,
        );
        read += r.read;
        report.hourRows += r.hourRows;
        report.deletedMinutes += r.deletedMinutes;
        chunk = r.rest;
      }
    }
  }
  report.rolledHours = hours.size;
  if (!report.more) {
    // An attribute whose newest point is past every retention has nothing left to show
    // (in either table: metric_recent is keyed by minute, none is past last_minute).
    await db
      .deleteFrom("metric_attrs")
      .where("last_minute", "<", dropBefore)
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom("metric_points as p")
              .select("p.minute")
              .whereRef("p.service", "=", "metric_attrs.service")
              .whereRef("p.attr", "=", "metric_attrs.attr"),
          ),
        ),
      )
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom("metric_recent as r")
              .select("r.minute")
              .whereRef("r.minute", "<=", "metric_attrs.last_minute")
              .whereRef("r.service", "=", "metric_attrs.service")
              .whereRef("r.attr", "=", "metric_attrs.attr"),
          ),
        ),
      )
      .execute();
  }
  return report;
}

interface AttrKey {
  service: string;
  attr: string;
  kind: MetricKind;
}

/**
 * Some series of one attribute (instances, the total `*` among them): read their
 * minutes before the cutoff — one index range per instance, in key order, a bounded
 * number of rows — fold them into hourly rows, insert those, then delete the minutes.
 * Minutes older than even the hourly retention are only deleted. Returns the instances
 * still to do: a read that hit its bound ends inside an instance, which is finished up
 * to its last whole hour and comes back with those not reached.
 *
 * No transaction, on purpose: it would hold SQLite's write lock (and stall ingest) for
 * the whole walk, and every step is safe to repeat. Hourly rows that exist are kept
 * (`do nothing`), so a crash between the inserts and the delete is finished by the
 * next run, two replicas rolling the same hour write the same rows, and queries prefer
 * an hourly row to minutes of the same hour. A straggler minute that arrives after its
 * hour was rolled is dropped with the rest.
 */
async function retainChunk(
  db: Db,
  a: AttrKey,
  instances: readonly string[],
  { dropBefore, cutoff, rowsPerRead }: { dropBefore: number; cutoff: number; rowsPerRead: number },
  hours: Set<number>,
): Promise<{ read: number; hourRows: number; deletedMinutes: number; rest: string[] }> {
  const rows = await db
    .selectFrom("metric_points")
    .select(["instance", "minute", "value", "hist"])
    .where("service", "=", a.service)
    .where("attr", "=", a.attr)
    .where("instance", "in", instances)
    .where("minute", "<", cutoff)
    .orderBy("instance")
    .orderBy("minute")
    .limit(rowsPerRead)
    .execute();
  const last = rows.at(-1);
  const out = { read: rows.length, hourRows: 0, deletedMinutes: 0, rest: [] as string[] };
  if (!last) return out;
  // A full read may end inside an instance: that instance is done up to its last whole
  // hour (it has at most 60 minutes an hour, and a read holds more than 60 rows).
  const full = rows.length === rowsPerRead;
  const partial = full ? last.instance : null;
  const upTo = full ? floorHour(Number(last.minute)) : cutoff;
  const done = new Set<string>();
  const rollups = new Map<number, HourRollup>();
  for (const r of rows) {
    const minute = Number(r.minute);
    if (r.instance === partial) {
      if (minute >= upTo) break;
    } else done.add(r.instance);
    if (minute < dropBefore) continue;
    const hour = floorHour(minute);
    let rollup = rollups.get(hour);
    if (!rollup) {
      rollup = hourRollup(hour, () => a.kind);
      rollups.set(hour, rollup);
    }
    rollup.add({
      service: a.service,
      attr: a.attr,
      instance: r.instance,
      minute,
      value: r.value,
      hist: r.hist,
    });
  }
  const hourly = [...rollups.values()].flatMap((r) => r.rows());
  for (let i = 0; i < hourly.length; i += ROWS_PER_INSERT) {
    await db
      .insertInto("metric_hours")
      .values(hourly.slice(i, i + ROWS_PER_INSERT))
      .onConflict((oc) => oc.columns(["service", "attr", "instance", "hour"]).doNothing())
      .execute();
  }
  for (const hour of rollups.keys()) hours.add(hour);
  out.hourRows = hourly.length;
  const deleteBefore = async (which: readonly string[], before: number) => {
    if (which.length === 0) return;
    const del = await db
      .deleteFrom("metric_points")
      .where("service", "=", a.service)
      .where("attr", "=", a.attr)
      .where("instance", "in", which)
      .where("minute", "<", before)
      .executeTakeFirst();
    out.deletedMinutes += Number(del.numDeletedRows);
  };
  if (partial === null) {
    // Everything before the cutoff was read: instances with no row have nothing to delete.
    await deleteBefore(instances, cutoff);
    return out;
  }
  await deleteBefore([...done], cutoff);
  await deleteBefore([partial], upTo);
  // Instances with no row read may come after the partial one: they go again (a seek each).
  out.rest = instances.filter((i) => !done.has(i));
  return out;
}

export interface RetentionRunner {
  start(): void;
  /** Stop the timers and wait for a run in progress. */
  stop(): Promise<void>;
  runOnce(): Promise<RetentionReport>;
  mergeOnce(): Promise<MergeReport>;
}

/** How often the runner merges `metric_recent` into `metric_points`. */
const MERGE_EVERY_MS = 15 * MINUTE_MS;

/**
 * The edge: runs retention a minute after start, then every hour (sooner on a backlog);
 * merges `metric_recent` every 15 minutes (sooner on a backlog: each series gains
 * about 15 rows per page written). One at a time.
 */
export function createRetentionRunner(deps: {
  store: Pick<Store, "db">;
  log: Logger;
  now: () => number;
  settings: RetentionSettings;
  intervalMs?: number;
  firstDelayMs?: number;
  /** How often to merge; false: never (tests of retention alone). */
  mergeEveryMs?: number | false;
}): RetentionRunner {
  const interval = deps.intervalMs ?? HOUR_MS;
  const mergeEvery = deps.mergeEveryMs ?? MERGE_EVERY_MS;
  const merge: MergeSettings =
    deps.settings.mergeAfterMinutes === undefined
      ? DEFAULT_MERGE
      : { afterMs: deps.settings.mergeAfterMinutes * MINUTE_MS };
  const timers = new Set<NodeJS.Timeout>();
  let running: Promise<RetentionReport> | null = null;
  let merging: Promise<MergeReport> | null = null;
  /** The last run started (merge or retention): the next one waits for it. */
  let queue: Promise<unknown> = Promise.resolve();
  let stopped = false;

  const exclusive = <T>(work: () => Promise<T>): Promise<T> => {
    const p = queue.then(work, work);
    queue = p.catch(() => undefined);
    return p;
  };
  const later = (fn: () => void, ms: number) => {
    if (stopped) return;
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    t.unref();
    timers.add(t);
  };
  const runOnce = (): Promise<RetentionReport> => {
    running ??= exclusive(() => runRetention(deps.store.db, deps.now(), deps.settings)).finally(
      () => {
        running = null;
      },
    );
    return running;
  };
  const mergeOnce = (): Promise<MergeReport> => {
    merging ??= exclusive(() => runMerge(deps.store.db, deps.now(), merge)).finally(() => {
      merging = null;
    });
    return merging;
  };
  const tick = () => {
    runOnce().then(
      (r) => {
        if (r.rolledHours > 0 || r.deletedMinutes > 0 || r.deletedHours > 0) {
          deps.log.info({ retention: r }, "metric retention applied");
        }
        later(tick, r.more ? 1000 : interval);
      },
      (err) => {
        deps.log.warn({ err }, "metric retention failed; retrying next hour");
        later(tick, interval);
      },
    );
  };
  const mergeTick = () => {
    if (mergeEvery === false) return;
    mergeOnce().then(
      (r) => {
        if (r.moved > 0) deps.log.debug?.({ merge: r }, "metric points merged");
        later(mergeTick, r.more ? 1000 : mergeEvery);
      },
      (err) => {
        deps.log.warn({ err }, "metric merge failed; retrying");
        later(mergeTick, mergeEvery);
      },
    );
  };
  return {
    start: () => {
      later(tick, deps.firstDelayMs ?? MINUTE_MS);
      if (mergeEvery !== false) later(mergeTick, mergeEvery);
    },
    stop: async () => {
      stopped = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await Promise.all([running?.catch(() => undefined), merging?.catch(() => undefined)]);
    },
    runOnce,
    mergeOnce,
  };
}
