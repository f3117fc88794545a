import type { HistogramValue } from "../../core/schemas/monitor.js";

/**
 * Arithmetic on per-minute histograms (`{bounds, counts, sum}`, `counts[i]` for values
 * ≤ `bounds[i]`, the last count for +Inf). Pure functions; the store keeps them as JSON.
 *
 * @example
 * const h = mergeHistograms(a, b); // minute totals, hour rollups, chart buckets
 * quantile(h, 0.99);               // p99 by linear interpolation inside its bucket
 */

/** Percentiles a query may ask of a histogram attribute, and the quantile each means. */
export const PERCENTILES = { p50: 0.5, p90: 0.9, p95: 0.95, p99: 0.99 } as const;
export type Percentile = keyof typeof PERCENTILES;

/** Observations in a histogram. */
export function histogramCount(h: HistogramValue): number {
  let n = 0;
  for (const c of h.counts) n += c;
  return n;
}

/**
 * Sum two histograms. With different bounds (the service changed its buckets) the
 * one with more observations wins: buckets cannot be split without guessing.
 */
export function mergeHistograms(
  a: HistogramValue | null,
  b: HistogramValue | null,
): HistogramValue | null {
  if (!a) return b;
  if (!b) return a;
  if (!sameBounds(a.bounds, b.bounds)) return histogramCount(b) > histogramCount(a) ? b : a;
  const counts = new Array<number>(a.counts.length);
  for (let i = 0; i < counts.length; i++) counts[i] = (a.counts[i] ?? 0) + (b.counts[i] ?? 0);
  return { bounds: a.bounds, counts, sum: a.sum + b.sum };
}

function sameBounds(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The q-quantile (0 ≤ q ≤ 1) as Prometheus's `histogram_quantile` computes it: find the
 * bucket holding the rank, interpolate linearly inside it (the first bucket starts at 0
 * when its bound is positive), and answer the highest finite bound when the rank falls
 * in the +Inf bucket. Null for an empty histogram or one with no finite bound.
 */
export function quantile(h: HistogramValue, q: number): number | null {
  const total = histogramCount(h);
  if (total === 0 || h.bounds.length === 0) return null;
  const rank = Math.min(Math.max(q, 0), 1) * total;
  let below = 0;
  for (let i = 0; i < h.counts.length; i++) {
    const c = h.counts[i] ?? 0;
    if (c > 0 && below + c >= rank) {
      if (i >= h.bounds.length) return h.bounds[h.bounds.length - 1] ?? null;
      const upper = h.bounds[i] as number;
      const lower = i === 0 ? Math.min(0, upper) : (h.bounds[i - 1] as number);
      return lower + (upper - lower) * ((rank - below) / c);
    }
    below += c;
  }
  return h.bounds[h.bounds.length - 1] ?? null;
}

/** Mean of the observations, or null when there are none. */
export function histogramMean(h: HistogramValue): number | null {
  const n = histogramCount(h);
  return n === 0 ? null : h.sum / n;
}
