import { describe, expect, it } from "vitest";
import type { HistogramValue } from "../../core/schemas/monitor.js";
import { histogramCount, histogramMean, mergeHistograms, quantile } from "./histogram.js";

const h = (counts: number[], sum = 0, bounds = [10, 100, 1000]): HistogramValue => ({
  bounds,
  counts,
  sum,
});

describe("histograms", () => {
  it("merges buckets and sums with the same bounds", () => {
    expect(mergeHistograms(h([1, 2, 3, 4], 10), h([1, 1, 1, 1], 5))).toEqual(h([2, 3, 4, 5], 15));
    expect(mergeHistograms(null, h([1, 0, 0, 0]))).toEqual(h([1, 0, 0, 0]));
    expect(mergeHistograms(h([1, 0, 0, 0]), null)).toEqual(h([1, 0, 0, 0]));
    expect(mergeHistograms(null, null)).toBeNull();
  });

  it("keeps the fuller one when the bounds differ (buckets cannot be split)", () => {
    const other = h([5, 5], 1, [50]);
    expect(mergeHistograms(h([1, 0, 0, 0]), other)).toBe(other);
    expect(mergeHistograms(other, h([1, 0, 0, 0]))).toBe(other);
  });

  it("does not change its inputs", () => {
    const a = h([1, 1, 1, 1], 3);
    mergeHistograms(a, h([1, 1, 1, 1], 3));
    expect(a).toEqual(h([1, 1, 1, 1], 3));
  });

  it("computes quantiles like Prometheus's histogram_quantile", () => {
    // 100 observations: 50 ≤ 10, 40 in (10, 100], 10 in (100, 1000].
    const x = h([50, 40, 10, 0]);
    expect(quantile(x, 0.5)).toBe(10);
    expect(quantile(x, 0.25)).toBe(5); // the first bucket starts at 0
    expect(quantile(x, 0.7)).toBe(10 + 90 * (20 / 40));
    expect(quantile(x, 0.99)).toBeCloseTo(100 + 900 * (9 / 10));
    expect(quantile(x, 1)).toBe(1000);
  });

  it("answers the highest finite bound for ranks in +Inf, and null when empty", () => {
    expect(quantile(h([0, 0, 0, 5]), 0.5)).toBe(1000);
    expect(quantile(h([0, 0, 0, 0]), 0.5)).toBeNull();
    expect(quantile({ bounds: [], counts: [3], sum: 3 }, 0.5)).toBeNull();
  });

  it("skips empty buckets and handles negative bounds", () => {
    expect(quantile(h([0, 0, 4, 0]), 0.5)).toBe(550);
    expect(quantile({ bounds: [-5, 5], counts: [2, 2, 0], sum: 0 }, 0.25)).toBe(-5);
    expect(quantile({ bounds: [-5, 5], counts: [2, 2, 0], sum: 0 }, 0.75)).toBe(0);
  });

  it("counts and averages observations", () => {
    expect(histogramCount(h([1, 2, 3, 4]))).toBe(10);
    expect(histogramMean(h([1, 2, 3, 4], 50))).toBe(5);
    expect(histogramMean(h([0, 0, 0, 0], 0))).toBeNull();
  });
});
