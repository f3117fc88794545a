/**
 * A process's metrics, kept in memory: counters, gauges and histograms with free-text
 * names (`VIP level 28 logins`) and optional labels. The hot path is a map lookup and
 * an add; keep the returned handle to skip even the lookup.
 *
 *   const logins = metrics.counter("VIP level 28 logins");
 *   logins.inc();
 *   metrics.histogram("order value").observe(42.5);
 */
export type MetricLabels = Readonly<Record<string, string>>;

/** Latency-friendly default buckets (milliseconds). */
export const DEFAULT_BUCKETS: readonly number[] = [
  0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000,
];

export class Counter {
  value = 0;
  constructor(
    readonly name: string,
    readonly labels: MetricLabels,
  ) {}
  inc(n = 1): void {
    this.value += n;
  }
}

export class Gauge {
  value = 0;
  constructor(
    readonly name: string,
    readonly labels: MetricLabels,
  ) {}
  set(v: number): void {
    this.value = v;
  }
  add(n: number): void {
    this.value += n;
  }
}

export class Histogram {
  /** counts[i]: observations ≤ buckets[i] and > buckets[i-1]; the last slot is +Inf. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(
    readonly name: string,
    readonly labels: MetricLabels,
    readonly buckets: readonly number[],
  ) {
    this.counts = new Float64Array(buckets.length + 1);
  }
  observe(v: number): void {
    const b = this.buckets;
    let i = 0;
    while (i < b.length && v > (b[i] as number)) i++;
    this.counts[i] = (this.counts[i] ?? 0) + 1;
    this.sum += v;
    this.count++;
  }
}

export type Metric = Counter | Gauge | Histogram;

export class MetricsRegistry {
  private readonly byKey = new Map<string, Metric>();

  counter(name: string, labels?: MetricLabels): Counter {
    return this.get(name, labels, "c", () => new Counter(name, labels ?? {})) as Counter;
  }

  gauge(name: string, labels?: MetricLabels): Gauge {
    return this.get(name, labels, "g", () => new Gauge(name, labels ?? {})) as Gauge;
  }

  histogram(
    name: string,
    labels?: MetricLabels,
    buckets: readonly number[] = DEFAULT_BUCKETS,
  ): Histogram {
    return this.get(
      name,
      labels,
      "h",
      () => new Histogram(name, labels ?? {}, buckets),
    ) as Histogram;
  }

  /** Every metric, for exposition and for shipping to the console. */
  all(): Metric[] {
    return [...this.byKey.values()];
  }

  private get(
    name: string,
    labels: MetricLabels | undefined,
    type: string,
    make: () => Metric,
  ): Metric {
    const key =
      labels === undefined
        ? `${type}\u0000${name}`
        : `${type}\u0000${name}\u0000${labelKey(labels)}`;
    let m = this.byKey.get(key);
    if (m === undefined) {
      if (name.length === 0 || name.length > 200)
        throw new RangeError(`metric name must be 1-200 characters: "${name.slice(0, 40)}"`);
      m = make();
      this.byKey.set(key, m);
    }
    return m;
  }
}

function labelKey(labels: MetricLabels): string {
  const keys = Object.keys(labels);
  if (keys.length === 1) {
    const k = keys[0] as string;
    return `${k}=${labels[k]}`;
  }
  return keys
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join("\u0001");
}

/** The process-wide registry that `metrics.counter(...)` and the RPC layer use. */
export const metrics = new MetricsRegistry();
