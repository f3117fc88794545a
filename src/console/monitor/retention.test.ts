import { describe, expect, it, vi } from "vitest";
import type { MetricKind } from "../../core/schemas/monitor.js";
import { DAY_MS, HOUR_MS } from "./buckets.js";
import {
  createRetentionRunner,
  DEFAULT_RETENTION,
  hourCutoff,
  hourRollup,
  type MinuteRow,
  minuteCutoff,
  retentionFromEnv,
} from "./retention.js";

// The runner's test drives a mock query builder; the merge (recent.ts) has its store suite.
vi.mock("./recent.js", async (original) => ({
  ...(await original<typeof import("./recent.js")>()),
  runMerge: async () => ({ mergedBefore: 0, moved: 0, chunks: 0, more: false }),
}));

const MIN = 60_000;
const NOW = Date.UTC(2026, 2, 10, 12, 34, 56);
const S = DEFAULT_RETENTION;

describe("retention settings", () => {
  it("defaults to 30 days of minutes and a year of hours", () => {
    expect(retentionFromEnv({})).toEqual({ minuteDays: 30, hourDays: 365 });
  });

  it("reads the environment, and keeps hours at least as long as minutes", () => {
    expect(retentionFromEnv({ MSEC_METRICS_RETENTION_DAYS: "7" })).toEqual({
      minuteDays: 7,
      hourDays: 365,
    });
    expect(retentionFromEnv({ MSEC_METRICS_RETENTION_DAYS: "400" })).toEqual({
      minuteDays: 400,
      hourDays: 400,
    });
    expect(
      retentionFromEnv({
        MSEC_METRICS_RETENTION_DAYS: "2",
        MSEC_METRICS_HOURLY_RETENTION_DAYS: "90",
      }),
    ).toEqual({ minuteDays: 2, hourDays: 90 });
  });

  it("refuses bad values, naming the variable", () => {
    for (const bad of ["0", "-1", "1.5", "ten", "99999"]) {
      expect(() => retentionFromEnv({ MSEC_METRICS_RETENTION_DAYS: bad })).toThrow(
        expect.objectContaining({ field: "MSEC_METRICS_RETENTION_DAYS" }),
      );
    }
    expect(() =>
      retentionFromEnv({
        MSEC_METRICS_RETENTION_DAYS: "30",
        MSEC_METRICS_HOURLY_RETENTION_DAYS: "10",
      }),
    ).toThrow(/MSEC_METRICS_HOURLY_RETENTION_DAYS must be a whole number of days from 30/);
  });

  it("reads the merge age of metric_recent, from 5 to 1440 minutes", () => {
    expect(retentionFromEnv({ MSEC_METRICS_MERGE_AFTER_MINUTES: "60" })).toEqual({
      minuteDays: 30,
      hourDays: 365,
      mergeAfterMinutes: 60,
    });
    for (const bad of ["4", "1441", "1.5", "soon"]) {
      expect(() => retentionFromEnv({ MSEC_METRICS_MERGE_AFTER_MINUTES: bad })).toThrow(
        expect.objectContaining({ field: "MSEC_METRICS_MERGE_AFTER_MINUTES" }),
      );
    }
  });
});

describe("retention decisions", () => {
  const cut = minuteCutoff(NOW, S);

  it("cuts on whole hours", () => {
    expect(cut % HOUR_MS).toBe(0);
    expect(NOW - 30 * DAY_MS - cut).toBeLessThan(HOUR_MS);
    expect(hourCutoff(NOW, S)).toBe(Math.floor((NOW - 365 * DAY_MS) / HOUR_MS) * HOUR_MS);
  });

  it("keeps hours at least as long as minutes", () => {
    expect(hourCutoff(NOW, S)).toBeLessThan(cut);
    expect(hourCutoff(NOW, { minuteDays: 7, hourDays: 7 })).toBe(
      minuteCutoff(NOW, { minuteDays: 7, hourDays: 7 }),
    );
  });
});

describe("hourRollup", () => {
  const kinds: Record<string, MetricKind> = { hits: "counter", level: "gauge", lat: "histogram" };
  const H = Date.UTC(2026, 1, 1, 5);
  const row = (
    attr: string,
    minute: number,
    value: number,
    hist: string | null = null,
  ): MinuteRow => ({
    service: "A.B",
    attr,
    instance: "*",
    minute: H + minute * MIN,
    value,
    hist,
  });

  it("sums counters, averages gauges, keeps min, max and the last minute's value", () => {
    const r = hourRollup(H, (_s, a) => kinds[a] ?? "counter");
    // Out of order on purpose: last is by minute, not by arrival.
    for (const x of [
      row("hits", 5, 2),
      row("hits", 0, 3),
      row("level", 59, 1),
      row("level", 0, 9),
      row("level", 30, 5),
    ])
      r.add(x);
    expect(r.rows()).toEqual([
      {
        service: "A.B",
        attr: "hits",
        instance: "*",
        hour: H,
        value: 5,
        samples: 2,
        min: 2,
        max: 3,
        last: 2,
        hist: null,
      },
      {
        service: "A.B",
        attr: "level",
        instance: "*",
        hour: H,
        value: 5,
        samples: 3,
        min: 1,
        max: 9,
        last: 1,
        hist: null,
      },
    ]);
  });

  it("merges histogram buckets and counts observations", () => {
    const r = hourRollup(H, (_s, a) => kinds[a] ?? "counter");
    const h = (c: number[]) => JSON.stringify({ bounds: [1], counts: c, sum: c[0] ?? 0 });
    r.add(row("lat", 0, 3, h([2, 1])));
    r.add(row("lat", 1, 4, h([4, 0])));
    const [out] = r.rows();
    expect(out).toMatchObject({ value: 7, samples: 2 });
    expect(JSON.parse(out?.hist ?? "null")).toEqual({ bounds: [1], counts: [6, 1], sum: 6 });
  });
});

describe("retention runner", () => {
  it("runs after its first delay, then every interval, and stops cleanly", async () => {
    vi.useFakeTimers();
    try {
      const calls: string[] = [];
      // Any query builder chain; each run deletes old hours, then finds no attributes.
      const chain = (table: string): unknown =>
        new Proxy(
          {},
          {
            get: (_t, name) => {
              if (name === "executeTakeFirst") {
                return async () => {
                  calls.push(`delete ${table}`);
                  return { numDeletedRows: 0n };
                };
              }
              if (name === "execute") return async () => [];
              return () => chain(table);
            },
          },
        );
      const db = { deleteFrom: chain, selectFrom: chain };
      const log = { info: vi.fn(), warn: vi.fn() };
      const r = createRetentionRunner({
        store: { db: db as never },
        log: log as never,
        now: () => NOW,
        settings: S,
        intervalMs: HOUR_MS,
        firstDelayMs: MIN,
        mergeEveryMs: false,
      });
      r.start();
      await vi.advanceTimersByTimeAsync(MIN - 1);
      expect(calls).toEqual([]);
      await vi.advanceTimersByTimeAsync(1);
      expect(calls).toEqual(["delete metric_hours"]);
      await vi.advanceTimersByTimeAsync(HOUR_MS);
      expect(calls).toEqual(["delete metric_hours", "delete metric_hours"]);
      await r.stop();
      await vi.advanceTimersByTimeAsync(2 * HOUR_MS);
      expect(calls).toHaveLength(2);
      expect(log.warn).not.toHaveBeenCalled();
    } finally {
      vi.useRealTimers();
    }
  });
});
