import { describe, expect, it } from "vitest";
import {
  addCell,
  bucketCount,
  COMPARES,
  checkStat,
  chooseStep,
  DAY_MS,
  finishBuckets,
  HOUR_MS,
  MAX_POINTS,
  needsHistogram,
  newBuckets,
  STEP_MINUTES,
} from "./buckets.js";

const MIN = 60_000;
const T = Date.UTC(2026, 2, 10, 0, 0);

describe("chooseStep", () => {
  it("keeps minutes up to a day", () => {
    expect(chooseStep(T, T + DAY_MS - MIN, MIN)).toBe(MIN);
    expect(bucketCount(T, T + DAY_MS - MIN, MIN)).toBe(MAX_POINTS);
  });

  it("coarsens longer ranges to the finest step within MAX_POINTS", () => {
    expect(chooseStep(T, T + DAY_MS, MIN)).toBe(2 * MIN);
    expect(chooseStep(T, T + 3 * DAY_MS, MIN)).toBe(5 * MIN);
    expect(chooseStep(T, T + 7 * DAY_MS, MIN)).toBe(10 * MIN);
    expect(chooseStep(T, T + 29 * DAY_MS, MIN)).toBe(30 * MIN);
    expect(chooseStep(T, T + 30 * DAY_MS, MIN)).toBe(60 * MIN); // 1441 half-hours
    expect(chooseStep(T, T + 365 * DAY_MS, MIN)).toBe(720 * MIN);
    for (const days of [1, 2, 7, 30, 90, 365]) {
      const step = chooseStep(T, T + days * DAY_MS, MIN);
      expect(bucketCount(T, T + days * DAY_MS, step)).toBeLessThanOrEqual(MAX_POINTS);
    }
  });

  it("honours a minimum step (hourly data, or the caller's)", () => {
    expect(chooseStep(T, T + HOUR_MS, HOUR_MS)).toBe(HOUR_MS);
    expect(chooseStep(T, T + HOUR_MS, 5 * MIN)).toBe(5 * MIN);
  });

  it("refuses a range no step can chart", () => {
    expect(() => chooseStep(T, T + 2000 * DAY_MS, MIN)).toThrow(
      expect.objectContaining({ code: "invalid_argument", field: "query.from" }),
    );
  });

  it("uses steps that divide a day, so compared series land on the same buckets", () => {
    for (const m of STEP_MINUTES) {
      for (const offset of Object.values(COMPARES)) {
        expect(offset % (m * MIN)).toBe(0);
      }
    }
  });
});

describe("buckets", () => {
  it("sums counters, averages gauges, and leaves empty buckets null", () => {
    const b = newBuckets(3, false);
    addCell(b, 0, 1, 4, 4, 4, 4, null);
    addCell(b, 0, 1, 6, 6, 6, 6, null);
    addCell(b, 2, 1, 1, 1, 1, 1, null);
    expect(finishBuckets(b, "counter", "value")).toEqual([10, null, 1]);
    expect(finishBuckets(b, "gauge", "value")).toEqual([5, null, 1]);
    expect(finishBuckets(b, "counter", "avg")).toEqual([5, null, 1]);
    expect(finishBuckets(b, "gauge", "min")).toEqual([4, null, 1]);
    expect(finishBuckets(b, "gauge", "max")).toEqual([6, null, 1]);
    expect(finishBuckets(b, "gauge", "last")).toEqual([6, null, 1]);
  });

  it("weighs an hourly cell by its minutes", () => {
    const b = newBuckets(1, false);
    // A gauge hour of 60 minutes averaging 10 (sum 600), then one minute at 71.
    addCell(b, 0, 60, 600, 2, 20, 12, null);
    addCell(b, 0, 1, 71, 71, 71, 71, null);
    expect(finishBuckets(b, "gauge", "value")).toEqual([11]);
    expect(finishBuckets(b, "gauge", "min")).toEqual([2]);
    expect(finishBuckets(b, "gauge", "last")).toEqual([71]);
  });

  it("merges histograms for percentiles and the mean observation", () => {
    const b = newBuckets(2, true);
    const hist = (fast: number, slow: number) => ({
      bounds: [10, 100],
      counts: [fast, slow, 0],
      sum: fast + slow * 50,
    });
    addCell(b, 0, 1, 10, 10, 10, 10, hist(10, 0));
    addCell(b, 0, 1, 10, 10, 10, 10, hist(0, 10));
    addCell(b, 1, 1, 0, 0, 0, 0, null);
    expect(finishBuckets(b, "histogram", "value")).toEqual([20, 0]);
    expect(finishBuckets(b, "histogram", "p50")).toEqual([10, null]);
    expect(finishBuckets(b, "histogram", "p99")?.[0]).toBeCloseTo(10 + 90 * (9.8 / 10));
    expect(finishBuckets(b, "histogram", "avg")).toEqual([(10 + 500) / 20, null]);
  });

  it("keeps histograms only when the stat needs them", () => {
    expect(needsHistogram("histogram", "p99")).toBe(true);
    expect(needsHistogram("histogram", "avg")).toBe(true);
    expect(needsHistogram("histogram", "value")).toBe(false);
    expect(needsHistogram("counter", "avg")).toBe(false);
    expect(newBuckets(2, false).hist).toBeNull();
  });

  it("refuses percentiles of counters and gauges, naming query.stat", () => {
    expect(() => checkStat("gauge", "p50", "queue")).toThrow(
      /p50 needs a histogram attribute; "queue" is a gauge/,
    );
    expect(() => checkStat("histogram", "p50", "latency")).not.toThrow();
    expect(() => checkStat("counter", "max", "orders")).not.toThrow();
  });
});
