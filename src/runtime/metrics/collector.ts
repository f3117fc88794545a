import { MINUTE_MS } from "../../core/schemas/monitor.js";
import {
  Counter,
  Gauge,
  Histogram,
  type Metric,
  type MetricLabels,
  type MetricsRegistry,
} from "./registry.js";

/** One attribute's value in one minute, in the console's ingest shape. */
export interface MinuteValue {
  attr: string;
  kind: "counter" | "gauge" | "histogram";
  value: number;
  hist?: { bounds: number[]; counts: number[]; sum: number };
}

/** Cumulative readings of one metric at the last collection. */
interface Seen {
  value: number;
  counts?: Float64Array;
  sum?: number;
}

/**
 * Turns a registry's running totals into per-minute values: a counter's increase in
 * each minute, a gauge's last value, a histogram's new observations. `collect(now)`
 * files what changed since the last call under the current minute; `minutes()` gives
 * every minute not yet acknowledged (the current one keeps growing and is resent).
 * Plain data and the clock passed in, so it is tested without timers.
 */
export class MinuteCollector {
  private readonly seen = new Map<Metric, Seen>();
  private readonly byMinute = new Map<number, Map<string, MinuteValue>>();

  constructor(
    private readonly registry: MetricsRegistry,
    /** Minutes kept while the console cannot be reached; older ones are dropped first. */
    private readonly maxMinutes = 180,
  ) {}

  collect(now: number): void {
    const minute = now - (now % MINUTE_MS);
    let bucket = this.byMinute.get(minute);
    for (const m of this.registry.all()) {
      const attr = attrName(m.name, m.labels);
      const before = this.seen.get(m);
      if (m instanceof Counter) {
        const delta = m.value - (before?.value ?? 0);
        this.seen.set(m, { value: m.value });
        if (delta === 0 && before) continue;
        bucket ??= this.bucket(minute);
        const v = bucket.get(attr);
        if (v) v.value += delta;
        else bucket.set(attr, { attr, kind: "counter", value: delta });
      } else if (m instanceof Gauge) {
        this.seen.set(m, { value: m.value });
        bucket ??= this.bucket(minute);
        bucket.set(attr, { attr, kind: "gauge", value: m.value });
      } else if (m instanceof Histogram) {
        const delta = m.count - (before?.value ?? 0);
        if (delta === 0 && before) continue;
        const counts = Array.from(m.counts, (c, i) => c - (before?.counts?.[i] ?? 0));
        const sum = m.sum - (before?.sum ?? 0);
        this.seen.set(m, { value: m.count, counts: Float64Array.from(m.counts), sum: m.sum });
        bucket ??= this.bucket(minute);
        const v = bucket.get(attr);
        if (v?.hist) {
          v.value += delta;
          v.hist.sum += sum;
          v.hist.counts = v.hist.counts.map((c, i) => c + (counts[i] ?? 0));
        } else {
          bucket.set(attr, {
            attr,
            kind: "histogram",
            value: delta,
            hist: { bounds: [...m.buckets], counts, sum },
          });
        }
      }
    }
    while (this.byMinute.size > this.maxMinutes) {
      const oldest = Math.min(...this.byMinute.keys());
      this.byMinute.delete(oldest);
    }
  }

  /** Every minute still to send, oldest first. */
  minutes(): { minute: number; points: MinuteValue[] }[] {
    return [...this.byMinute.entries()]
      .sort(([a], [b]) => a - b)
      .map(([minute, values]) => ({ minute, points: [...values.values()] }));
  }

  /** The console has these minutes: forget the ones that are over (before `now`'s minute). */
  acknowledge(minutes: readonly number[], now: number): void {
    const current = now - (now % MINUTE_MS);
    for (const m of minutes) if (m < current) this.byMinute.delete(m);
  }

  get pendingMinutes(): number {
    return this.byMinute.size;
  }

  private bucket(minute: number): Map<string, MinuteValue> {
    let b = this.byMinute.get(minute);
    if (!b) {
      b = new Map();
      this.byMinute.set(minute, b);
    }
    return b;
  }
}

/** `name{k=v,k2=v2}` with labels sorted: one attribute per label set. */
export function attrName(name: string, labels: MetricLabels): string {
  const keys = Object.keys(labels);
  if (keys.length === 0) return name;
  return `${name}{${keys
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(",")}}`;
}
