import { MsecError } from "../../core/errors.js";
import { type HistogramValue, type MetricKind, MINUTE_MS } from "../../core/schemas/monitor.js";
import {
  histogramMean,
  mergeHistograms,
  PERCENTILES,
  type Percentile,
  quantile,
} from "./histogram.js";

/**
 * The pure half of a chart query: which step a range gets, and how minutes (or hourly
 * rollups) fold into the buckets of a series. No I/O; `query.ts` feeds it rows.
 *
 * @example
 * const step = chooseStep(from, to, MINUTE_MS);      // 1 min up to a day, then coarser
 * const b = newBuckets(bucketCount(from, to, step), false);
 * addCell(b, i, 1, v, v, v, v, null);                 // one minute into bucket i
 * finishBuckets(b, "counter", "value");               // sums; null where nothing came
 */

export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;
/** A series never has more points than this; longer ranges get a coarser step. */
export const MAX_POINTS = 1440;
/**
 * Steps a chart may use, in minutes. Each divides a day, so a bucket shifted by a day
 * or a week starts on a bucket boundary too, and compared series line up.
 */
export const STEP_MINUTES = [1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440] as const;

/** Earlier series a chart can lay over the current one, and how far back each is. */
export const COMPARES = { yesterday: DAY_MS, week: 7 * DAY_MS } as const;
export type Compare = keyof typeof COMPARES;

/**
 * What one point of a series shows when its bucket holds several minutes:
 * - `value`: the kind's own figure: a counter's sum, a gauge's mean, a histogram's count;
 * - `avg`: mean per minute (counter, gauge), mean observation (histogram);
 * - `min`, `max`, `last`: over the bucket's minute values;
 * - `p50`…`p99`: from the bucket's merged histogram (histograms only).
 */
export const STATS = ["value", "avg", "min", "max", "last", "p50", "p90", "p95", "p99"] as const;
export type Stat = (typeof STATS)[number];

/** The step for a range: the finest allowed one that keeps the series within MAX_POINTS. */
export function chooseStep(from: number, to: number, minStep: number): number {
  for (const m of STEP_MINUTES) {
    const step = m * MINUTE_MS;
    if (step < minStep) continue;
    if (bucketCount(from, to, step) <= MAX_POINTS) return step;
  }
  throw new MsecError("invalid_argument", "query.from: the range is too long to chart", {
    field: "query.from",
  });
}

export function bucketCount(from: number, to: number, step: number): number {
  return Math.floor(to / step) - Math.floor(from / step) + 1;
}

/** Per-bucket running figures; typed arrays, so a day of minutes allocates six arrays. */
export interface Buckets {
  readonly n: Uint32Array;
  readonly sum: Float64Array;
  readonly min: Float64Array;
  readonly max: Float64Array;
  readonly last: Float64Array;
  /** Merged histograms, kept only when the stat needs them. */
  readonly hist: (HistogramValue | null)[] | null;
}

export function newBuckets(count: number, withHist: boolean): Buckets {
  return {
    n: new Uint32Array(count),
    sum: new Float64Array(count),
    min: new Float64Array(count).fill(Number.POSITIVE_INFINITY),
    max: new Float64Array(count).fill(Number.NEGATIVE_INFINITY),
    last: new Float64Array(count),
    hist: withHist ? new Array<HistogramValue | null>(count).fill(null) : null,
  };
}

/**
 * Add one cell (a minute, or an hour rollup of `samples` minutes) to bucket i. Cells
 * must come oldest first for `last`.
 */
export function addCell(
  b: Buckets,
  i: number,
  samples: number,
  sum: number,
  min: number,
  max: number,
  last: number,
  hist: HistogramValue | null,
): void {
  b.n[i] = (b.n[i] as number) + samples;
  b.sum[i] = (b.sum[i] as number) + sum;
  if (min < (b.min[i] as number)) b.min[i] = min;
  if (max > (b.max[i] as number)) b.max[i] = max;
  b.last[i] = last;
  if (b.hist && hist) b.hist[i] = mergeHistograms(b.hist[i] ?? null, hist);
}

/** The series' values from its buckets: null where a bucket got no point. */
export function finishBuckets(b: Buckets, kind: MetricKind, stat: Stat): (number | null)[] {
  const out = new Array<number | null>(b.n.length);
  const q = stat in PERCENTILES ? PERCENTILES[stat as Percentile] : -1;
  for (let i = 0; i < out.length; i++) {
    const n = b.n[i] as number;
    if (n === 0) {
      out[i] = null;
      continue;
    }
    const h = b.hist?.[i] ?? null;
    switch (stat) {
      case "value":
        out[i] = kind === "gauge" ? (b.sum[i] as number) / n : (b.sum[i] as number);
        break;
      case "avg":
        out[i] = kind === "histogram" ? (h ? histogramMean(h) : null) : (b.sum[i] as number) / n;
        break;
      case "min":
        out[i] = b.min[i] as number;
        break;
      case "max":
        out[i] = b.max[i] as number;
        break;
      case "last":
        out[i] = b.last[i] as number;
        break;
      default:
        out[i] = h ? quantile(h, q) : null;
    }
  }
  return out;
}

/** Whether a stat needs the bucket histograms. */
export function needsHistogram(kind: MetricKind, stat: Stat): boolean {
  return kind === "histogram" && (stat === "avg" || stat in PERCENTILES);
}

/** Refuse a stat the attribute's kind cannot give, naming `query.stat`. */
export function checkStat(kind: MetricKind, stat: Stat, attr: string): void {
  if (stat in PERCENTILES && kind !== "histogram") {
    throw new MsecError(
      "invalid_argument",
      `query.stat: ${stat} needs a histogram attribute; "${attr}" is a ${kind}`,
      { field: "query.stat" },
    );
  }
}
