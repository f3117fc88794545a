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
  // Unlabelled metrics are found by name alone: `metrics.counter(name).inc()` costs one
  // map lookup, no string building.
  private readonly counters = new Map<string, Counter>();
  private readonly gauges = new Map<string, Gauge>();
  private readonly histograms = new Map<string, Histogram>();
  private readonly labelled = new Map<string, Metric>();
  private readonly order: Metric[] = [];

  counter(name: string, labels?: MetricLabels): Counter {
    if (labels === undefined) {
      const c = this.counters.get(name);
      if (c !== undefined) return c;
    }
    return this.make(this.counters, "c", name, labels, () => new Counter(name, labels ?? {}));
  }

  gauge(name: string, labels?: MetricLabels): Gauge {
    if (labels === undefined) {
      const g = this.gauges.get(name);
      if (g !== undefined) return g;
    }
    return this.make(this.gauges, "g", name, labels, () => new Gauge(name, labels ?? {}));
  }

  histogram(
    name: string,
    labels?: MetricLabels,
    buckets: readonly number[] = DEFAULT_BUCKETS,
  ): Histogram {
    if (labels === undefined) {
      const h = this.histograms.get(name);
      if (h !== undefined) return h;
    }
    return this.make(
      this.histograms,
      "h",
      name,
      labels,
      () => new Histogram(name, labels ?? {}, buckets),
    );
  }

  /** Every metric, for exposition and for shipping to the console. */
  all(): readonly Metric[] {
    return this.order;
  }

  private make<M extends Metric>(
    plain: Map<string, M>,
    type: string,
    name: string,
    labels: MetricLabels | undefined,
    create: () => M,
  ): M {
    const key = labels === undefined ? undefined : `${type}\u0000${name}\u0000${labelKey(labels)}`;
    if (key !== undefined) {
      const found = this.labelled.get(key);
      if (found !== undefined) return found as M;
    }
    if (name.length === 0 || name.length > 200) {
      throw new RangeError(`metric name must be 1-200 characters: "${name.slice(0, 40)}"`);
    }
    const m = create();
    if (key === undefined) plain.set(name, m);
    else this.labelled.set(key, m);
    this.order.push(m);
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
