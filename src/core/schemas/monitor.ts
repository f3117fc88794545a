import { z } from "zod";
import { Timestamp } from "./common.js";
import { InstanceAddr, ServiceName } from "./naming.js";

export const MINUTE_MS = 60_000;

/**
 * A business or framework attribute, as people write it: free text (`VIP level 28
 * logins`), `rpc.` for framework metrics, `sys.` for host metrics. Labels are part of
 * the attribute: `rpc.server.calls{code=ok,method=Echo}` (sorted, as the runtime writes them).
 */
export const AttrName = z
  .string()
  .min(1, "must not be empty")
  .max(300, "must be at most 300 characters")
  // Control characters would break logs, exports and terminals.
  .refine(
    (s) => ![...s].some((ch) => ch.charCodeAt(0) < 32 || ch.charCodeAt(0) === 127),
    "must not hold control characters",
  );

export const MetricKind = z.enum(["counter", "gauge", "histogram"]);
export type MetricKind = z.infer<typeof MetricKind>;

/** Histogram counts per bucket for one minute: `counts[i]` ≤ `bounds[i]`, the last count is +Inf. */
export const HistogramValue = z
  .object({
    bounds: z.array(z.number().finite()).max(64),
    counts: z.array(z.number().nonnegative().finite()).max(65),
    sum: z.number().finite(),
  })
  .refine(
    (h) => h.counts.length === h.bounds.length + 1,
    "counts must have one more entry than bounds",
  );
export type HistogramValue = z.infer<typeof HistogramValue>;

/**
 * One attribute's value for one minute of one instance: a counter's increase in that
 * minute, a gauge's last value, a histogram's count (with its buckets in `hist`).
 * Sending the same minute again replaces the value (senders resend the current minute
 * as it grows, and whole batches after an outage).
 */
export const IngestPoint = z.object({
  attr: AttrName,
  kind: MetricKind,
  value: z.number().finite(),
  hist: HistogramValue.optional(),
});
export type IngestPoint = z.infer<typeof IngestPoint>;

export const MinuteStamp = z
  .number()
  .int()
  .refine((m) => m % MINUTE_MS === 0, "must be a whole minute in epoch milliseconds");

/**
 * A batch from one instance (a process, or an agent on behalf of its processes). The
 * envelope must be valid; points are checked one by one, and bad points are refused
 * without refusing the rest.
 */
export const IngestBatch = z.object({
  service: ServiceName,
  /** The instance's `ip:port` (or `host:pid` for a process without a port). */
  instance: z.union([InstanceAddr, z.string().regex(/^[A-Za-z0-9._-]{1,100}:\d{1,10}$/)]),
  minutes: z
    .array(z.object({ minute: MinuteStamp, points: z.array(z.unknown()).max(20_000) }))
    .min(1)
    .max(1440),
});
export type IngestBatch = z.infer<typeof IngestBatch>;

/** Many instances' batches in one request and one commit (an agent's machine, each minute). */
export const IngestBatches = z.object({ batches: z.array(IngestBatch).min(1).max(1000) });

export const IngestResult = z.object({
  accepted: z.number().int(),
  /** Refused points: where (`minutes.0.points.3`), which attribute if readable, and why. */
  rejected: z.array(z.object({ at: z.string(), attr: z.string().optional(), error: z.string() })),
});
export type IngestResult = z.infer<typeof IngestResult>;

/** The service total is stored and queried as instance `*`. */
export const TOTAL = "*";

// Answers of the monitor's read API (src/console/monitor/query-routes.ts). The web UI
// takes their types (`import type`: no zod in its bundle); tests parse the answers.

/** What one point of a series shows when its bucket holds several minutes. */
export const SeriesStat = z.enum([
  "value",
  "avg",
  "min",
  "max",
  "last",
  "p50",
  "p90",
  "p95",
  "p99",
]);
export type SeriesStat = z.infer<typeof SeriesStat>;

/** The earlier series a chart may lay over the range: the same minutes a day and a week before. */
export const CompareName = z.enum(["yesterday", "week"]);
export type CompareName = z.infer<typeof CompareName>;

/** How top instances are ranked over the range. */
export const TopBy = z.enum(["sum", "avg", "max", "last"]);
export type TopBy = z.infer<typeof TopBy>;

/** `GET /metrics/services`: services that sent metrics. */
export const MetricServicesAnswer = z.object({
  services: z.array(
    z.object({ service: ServiceName, attributes: z.number().int(), lastMinute: Timestamp }),
  ),
});
export type MetricServicesAnswer = z.infer<typeof MetricServicesAnswer>;
export type MetricService = MetricServicesAnswer["services"][number];

/** `GET /metrics/{service}/attributes`. */
export const AttributesAnswer = z.object({
  service: ServiceName,
  attributes: z.array(
    z.object({ attr: z.string(), kind: MetricKind, firstMinute: Timestamp, lastMinute: Timestamp }),
  ),
});
export type AttributesAnswer = z.infer<typeof AttributesAnswer>;
export type AttributeInfo = AttributesAnswer["attributes"][number];

/**
 * `GET /metrics/{service}/series`: `values[i]` is the bucket starting at
 * `from + i * stepMs` (minus the series' `offsetMs`); null where there was no point.
 */
export const SeriesAnswer = z.object({
  service: ServiceName,
  attr: z.string(),
  instance: z.string(),
  kind: MetricKind,
  stat: SeriesStat,
  from: Timestamp,
  to: Timestamp,
  stepMs: z.number().int().positive(),
  resolution: z.enum(["minute", "hour"]),
  series: z.array(
    z.object({
      name: z.union([z.literal("current"), CompareName]),
      offsetMs: z.number().int().nonnegative(),
      values: z.array(z.number().nullable()),
    }),
  ),
});
export type SeriesAnswer = z.infer<typeof SeriesAnswer>;

/** `GET /metrics/{service}/top`: the service's instances ranked by the attribute. */
export const TopAnswer = z.object({
  service: ServiceName,
  attr: z.string(),
  kind: MetricKind,
  by: TopBy,
  from: Timestamp,
  to: Timestamp,
  instances: z.array(z.object({ instance: z.string(), value: z.number(), lastMinute: Timestamp })),
});
export type TopAnswer = z.infer<typeof TopAnswer>;
