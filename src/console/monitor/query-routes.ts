import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { MsecError } from "../../core/errors.js";
import { AttrName, MINUTE_MS, TOTAL } from "../../core/schemas/monitor.js";
import { ServiceName } from "../../core/schemas/naming.js";
import type { ConsoleContext } from "../context.js";
import { parseInput } from "../http/validate.js";
import { COMPARES, type Compare, DAY_MS, HOUR_MS, STATS, STEP_MINUTES } from "./buckets.js";
import { latestPoints, PROMETHEUS_CONTENT_TYPE, renderExport } from "./prometheus.js";
import { listAttributes, listMetricServices, querySeries } from "./query.js";
import { queryTop, TOP_BY } from "./top.js";

/** The longest range one query may span. */
const MAX_RANGE_MS = 400 * DAY_MS;
const iso = (ms: number) => new Date(ms).toISOString();

/** A time in a query: ISO-8601 (`2026-03-01T12:00:00Z`, `2026-03-01`) or epoch milliseconds. */
const TimeParam = z
  .string()
  .refine(
    (s) => parseTime(s) !== null,
    "must be an ISO-8601 time (e.g. 2026-03-01T12:00:00Z) or epoch milliseconds",
  )
  .transform((s) => parseTime(s) as number);

function parseTime(s: string): number | null {
  if (/^\d{1,15}$/.test(s)) return Number(s);
  if (
    !z.iso.datetime({ offset: true }).safeParse(s).success &&
    !z.iso.date().safeParse(s).success
  ) {
    return null;
  }
  const t = Date.parse(s);
  return Number.isFinite(t) ? t : null;
}

/** `yesterday,week`, or the parameter repeated. */
const CompareParam = z
  .union([z.string(), z.array(z.string())])
  .transform((v) => (Array.isArray(v) ? v.join(",") : v).split(",").filter((s) => s !== ""))
  .pipe(z.array(z.enum(Object.keys(COMPARES) as [Compare, ...Compare[]])));

const STEP_NAMES = STEP_MINUTES.map((m) =>
  m % 1440 === 0 ? `${m / 1440}d` : m % 60 === 0 ? `${m / 60}h` : `${m}m`,
);
const StepParam = z
  .string()
  .refine((s) => STEP_NAMES.includes(s), `must be one of ${STEP_NAMES.join(", ")}`)
  .transform((s) => (STEP_MINUTES[STEP_NAMES.indexOf(s)] as number) * MINUTE_MS);

/** `*` (the service total) or an instance address; printable ASCII, as senders write them. */
const Instance = z
  .string()
  .regex(/^[!-~]{1,120}$/, "must be * (the service total) or an instance such as 10.0.0.7:8080");

const ServiceParams = z.object({ service: ServiceName });
const RangeQuery = z.object({ from: TimeParam.optional(), to: TimeParam.optional() });
const SeriesParams = RangeQuery.extend({
  attr: AttrName,
  instance: Instance.default(TOTAL),
  compare: CompareParam.default([]),
  stat: z.enum(STATS).default("value"),
  step: StepParam.optional(),
});
const TopParams = RangeQuery.extend({
  attr: AttrName,
  limit: z.coerce.number().int().min(1).max(1000).default(10),
  by: z.enum(TOP_BY).optional(),
});

/** [from, to] of a query: default the last hour up to the current minute. */
function range(q: { from?: number | undefined; to?: number | undefined }, now: number) {
  const to = q.to ?? Math.floor(now / MINUTE_MS) * MINUTE_MS;
  const from = q.from ?? to - HOUR_MS + MINUTE_MS;
  if (from > to) {
    throw new MsecError("invalid_argument", "query.from: must not be after query.to", {
      field: "query.from",
    });
  }
  if (to - from > MAX_RANGE_MS) {
    throw new MsecError("invalid_argument", "query.from: a query spans at most 400 days", {
      field: "query.from",
    });
  }
  return { from, to };
}

/**
 * The monitor's read API (viewer): services with metrics, a service's attributes, one
 * attribute as a chart series (with yesterday and a week ago), top instances, and
 * every service's latest minute for Prometheus.
 */
export function monitorQueryRoutes(app: FastifyInstance, ctx: ConsoleContext): void {
  const db = () => ctx.store.db;
  const viewer = { config: { access: "viewer" as const } };

  app.get("/metrics/services", viewer, async () => {
    const services = await listMetricServices(db());
    return { services: services.map((s) => ({ ...s, lastMinute: iso(s.lastMinute) })) };
  });

  app.get("/metrics/:service/attributes", viewer, async (req) => {
    const { service } = parseInput(ServiceParams, req.params, "params");
    const attributes = await listAttributes(db(), service);
    return {
      service,
      attributes: attributes.map((a) => ({
        ...a,
        firstMinute: iso(a.firstMinute),
        lastMinute: iso(a.lastMinute),
      })),
    };
  });

  app.get("/metrics/:service/series", viewer, async (req) => {
    const { service } = parseInput(ServiceParams, req.params, "params");
    const q = parseInput(SeriesParams, req.query, "query");
    const { from, to } = range(q, ctx.now());
    const r = await querySeries(ctx.store, {
      service,
      attr: q.attr,
      instance: q.instance,
      from,
      to,
      compare: q.compare,
      stat: q.stat,
      ...(q.step !== undefined ? { minStep: q.step } : {}),
    });
    return {
      service,
      attr: q.attr,
      instance: q.instance,
      kind: r.kind,
      stat: q.stat,
      from: iso(r.from),
      to: iso(r.to),
      stepMs: r.step,
      resolution: r.resolution,
      series: r.series.map((s) => ({ name: s.name, offsetMs: s.offset, values: s.values })),
    };
  });

  app.get("/metrics/:service/top", viewer, async (req) => {
    const { service } = parseInput(ServiceParams, req.params, "params");
    const q = parseInput(TopParams, req.query, "query");
    const { from, to } = range(q, ctx.now());
    const r = await queryTop(db(), {
      service,
      attr: q.attr,
      from,
      to,
      limit: q.limit,
      ...(q.by ? { by: q.by } : {}),
    });
    return {
      service,
      attr: q.attr,
      kind: r.kind,
      by: r.by,
      from: iso(from),
      to: iso(to),
      instances: r.instances.map((i) => ({ ...i, lastMinute: iso(i.lastMinute) })),
    };
  });

  // For a Prometheus server: scrape with a viewer API token as a Bearer credential.
  app.get("/prometheus", viewer, async (_req, reply) => {
    const body = renderExport(await latestPoints(db(), ctx.now()));
    return reply.type(PROMETHEUS_CONTENT_TYPE).send(body);
  });
}
