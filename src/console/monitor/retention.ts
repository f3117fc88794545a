import { MsecError } from "../../core/errors.js";
import type { Logger } from "../../core/log.js";
import { type HistogramValue, type MetricKind, MINUTE_MS } from "../../core/schemas/monitor.js";
import type { Store } from "../store/index.js";
import type { Db, MetricHoursTable } from "../store/schema.js";
import { DAY_MS, HOUR_MS } from "./buckets.js";
import { mergeHistograms } from "./histogram.js";

/**
 * Retention of metric points: minutes older than `minuteDays` are folded into hourly
 * rows (`metric_hours`) and deleted; hourly rows older than `hourDays` are deleted.
 * The decisions are pure functions of the clock and the settings; the runner applies
 * them once an hour.
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
  return { minuteDays, hourDays };
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

export type RetentionStep =
  /** Minutes so old that even their hourly rows would be past retention. */
  | { action: "drop-minutes"; before: number }
  /** Fold this hour's minutes into hourly rows, then delete them. */
  | { action: "roll-hour"; hour: number }
  | { action: "done" };

/** What to do next, given the oldest minute still stored (null: none). */
export function nextRetentionStep(
  now: number,
  s: RetentionSettings,
  oldestMinute: number | null,
): RetentionStep {
  if (oldestMinute === null) return { action: "done" };
  const dropBefore = hourCutoff(now, s);
  if (oldestMinute < dropBefore) return { action: "drop-minutes", before: dropBefore };
  if (oldestMinute < minuteCutoff(now, s))
    return { action: "roll-hour", hour: floorHour(oldestMinute) };
  return { action: "done" };
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
/** Hours rolled in one run at most; a backlog continues right after. */
const MAX_STEPS_PER_RUN = 48;

export interface RetentionReport {
  rolledHours: number;
  hourRows: number;
  deletedMinutes: number;
  deletedHours: number;
  /** Work remains (a backlog): run again soon. */
  more: boolean;
}

/** Apply retention once: delete old hourly rows, roll up due hours, forget silent attributes. */
export async function runRetention(
  db: Db,
  now: number,
  s: RetentionSettings,
): Promise<RetentionReport> {
  const report: RetentionReport = {
    rolledHours: 0,
    hourRows: 0,
    deletedMinutes: 0,
    deletedHours: 0,
    more: false,
  };
  const dropBefore = hourCutoff(now, s);
  const del = await db.deleteFrom("metric_hours").where("hour", "<", dropBefore).executeTakeFirst();
  report.deletedHours = Number(del.numDeletedRows);

  let kinds: Map<string, MetricKind> | null = null;
  for (let steps = 0; ; steps++) {
    const oldest = await oldestMinute(db);
    const step = nextRetentionStep(now, s, oldest);
    if (step.action === "done") break;
    if (steps >= MAX_STEPS_PER_RUN) {
      report.more = true;
      break;
    }
    if (step.action === "drop-minutes") {
      const r = await db
        .deleteFrom("metric_points")
        .where("minute", "<", step.before)
        .executeTakeFirst();
      report.deletedMinutes += Number(r.numDeletedRows);
      continue;
    }
    kinds ??= await loadKinds(db);
    const k = kinds;
    const rolled = await rollHour(
      db,
      step.hour,
      (service, attr) => k.get(`${service}\u0000${attr}`) ?? "counter",
    );
    report.rolledHours++;
    report.hourRows += rolled.hourRows;
    report.deletedMinutes += rolled.deletedMinutes;
  }
  // An attribute whose newest point is past every retention has nothing left to show.
  await db.deleteFrom("metric_attrs").where("last_minute", "<", dropBefore).execute();
  return report;
}

async function oldestMinute(db: Db): Promise<number | null> {
  const row = await db
    .selectFrom("metric_points")
    .select((eb) => eb.fn.min("minute").as("m"))
    .executeTakeFirst();
  return row?.m === null || row?.m === undefined ? null : Number(row.m);
}

async function loadKinds(db: Db): Promise<Map<string, MetricKind>> {
  const rows = await db.selectFrom("metric_attrs").select(["service", "attr", "kind"]).execute();
  return new Map(rows.map((r) => [`${r.service}\u0000${r.attr}`, r.kind as MetricKind]));
}

/**
 * Fold one hour into hourly rows, then delete its minutes. Reads minute by minute, so
 * memory holds one row per series rather than sixty.
 *
 * No transaction, on purpose: it would hold SQLite's write lock (and stall ingest) for
 * the whole hour's work, and every step is safe to repeat. Hourly rows that exist are
 * kept (`do nothing`), so a crash between the inserts and the delete is finished by the
 * next run, two replicas rolling the same hour write the same rows, and queries prefer
 * an hourly row to minutes of the same hour. A straggler minute that arrives after its
 * hour was rolled is dropped with the rest.
 */
export async function rollHour(
  db: Db,
  hour: number,
  kindOf: (service: string, attr: string) => MetricKind,
): Promise<{ hourRows: number; deletedMinutes: number }> {
  const rollup = hourRollup(hour, kindOf);
  for (let m = hour; m < hour + HOUR_MS; m += MINUTE_MS) {
    const rows = await db
      .selectFrom("metric_points")
      .select(["service", "attr", "instance", "minute", "value", "hist"])
      .where("minute", "=", m)
      .execute();
    for (const r of rows) rollup.add({ ...r, minute: Number(r.minute) });
  }
  const rows = rollup.rows();
  for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
    await db
      .insertInto("metric_hours")
      .values(rows.slice(i, i + ROWS_PER_INSERT))
      .onConflict((oc) => oc.columns(["service", "attr", "instance", "hour"]).doNothing())
      .execute();
  }
  const del = await db
    .deleteFrom("metric_points")
    .where("minute", ">=", hour)
    .where("minute", "<", hour + HOUR_MS)
    .executeTakeFirst();
  return { hourRows: rows.length, deletedMinutes: Number(del.numDeletedRows) };
}

export interface RetentionRunner {
  start(): void;
  /** Stop the timer and wait for a run in progress. */
  stop(): Promise<void>;
  runOnce(): Promise<RetentionReport>;
}

/** The edge: runs retention a minute after start, then every hour (sooner on a backlog). */
export function createRetentionRunner(deps: {
  store: Pick<Store, "db">;
  log: Logger;
  now: () => number;
  settings: RetentionSettings;
  intervalMs?: number;
  firstDelayMs?: number;
}): RetentionRunner {
  const interval = deps.intervalMs ?? HOUR_MS;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<RetentionReport> | null = null;
  let stopped = false;

  const schedule = (ms: number) => {
    if (stopped) return;
    timer = setTimeout(tick, ms);
    timer.unref();
  };
  const runOnce = (): Promise<RetentionReport> => {
    running ??= runRetention(deps.store.db, deps.now(), deps.settings).finally(() => {
      running = null;
    });
    return running;
  };
  const tick = () => {
    runOnce().then(
      (r) => {
        if (r.rolledHours > 0 || r.deletedMinutes > 0 || r.deletedHours > 0) {
          deps.log.info({ retention: r }, "metric retention applied");
        }
        schedule(r.more ? 1000 : interval);
      },
      (err) => {
        deps.log.warn({ err }, "metric retention failed; retrying next hour");
        schedule(interval);
      },
    );
  };
  return {
    start: () => schedule(deps.firstDelayMs ?? MINUTE_MS),
    stop: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running?.catch(() => undefined);
    },
    runOnce,
  };
}
