import { beforeAll, describe, expect, it } from "vitest";
import { DAY_MS, HOUR_MS } from "../../src/console/monitor/buckets.js";
import { type MinutePoints, writePoints } from "../../src/console/monitor/points.js";
import { exportMinute, latestPoints, renderExport } from "../../src/console/monitor/prometheus.js";
import {
  listAttributes,
  listMetricServices,
  querySeries,
} from "../../src/console/monitor/query.js";
import { runRetention } from "../../src/console/monitor/retention.js";
import { queryTop } from "../../src/console/monitor/top.js";
import type { IngestPoint } from "../../src/core/schemas/monitor.js";
import { TEST_ENGINES, useFreshStore } from "../support/engines.js";

const MIN = 60_000;
// A fixed "now": Tuesday 2026-03-10 12:00 UTC.
const NOW = Date.UTC(2026, 2, 10, 12, 0);
const SVC = "Shop.Cart";
const A = "10.0.0.1:8080";
const B = "10.0.0.2:8080";

const counter = (attr: string, value: number): IngestPoint => ({ attr, kind: "counter", value });
const gauge = (attr: string, value: number): IngestPoint => ({ attr, kind: "gauge", value });
const latency = (fast: number, slow: number): IngestPoint => ({
  attr: "latency ms",
  kind: "histogram",
  value: fast + slow,
  hist: { bounds: [10, 100, 1000], counts: [fast, 0, slow, 0], sum: fast * 5 + slow * 500 },
});

/** Minutes [from, from + n) with points made by fn(minuteIndex). */
function minutes(from: number, n: number, fn: (i: number) => IngestPoint[]): MinutePoints[] {
  return Array.from({ length: n }, (_, i) => ({ minute: from + i * MIN, points: fn(i) }));
}

describe.each(TEST_ENGINES)("monitor store [%s]", (engine) => {
  const fresh = useFreshStore(engine);

  beforeAll(async () => {
    const today = NOW - 2 * HOUR_MS;
    // Two instances over the two hours before NOW, and the same minutes a day and a week back.
    for (const [back, base] of [
      [0, 100],
      [DAY_MS, 200],
      [7 * DAY_MS, 300],
    ] as const) {
      await writePoints(
        fresh.store,
        SVC,
        A,
        minutes(today - back, 120, (i) => [
          counter("orders", base + i),
          gauge("queue depth", i),
          latency(9, 1),
        ]),
      );
      await writePoints(
        fresh.store,
        SVC,
        B,
        minutes(today - back, 120, () => [counter("orders", 1), gauge("queue depth", 100)]),
      );
    }
  });

  it("lists services and their attributes", async () => {
    expect(await listMetricServices(fresh.store.db)).toEqual([
      { service: SVC, attributes: 3, lastMinute: NOW - MIN },
    ]);
    const attrs = await listAttributes(fresh.store.db, SVC);
    expect(attrs.map((a) => [a.attr, a.kind])).toEqual([
      ["latency ms", "histogram"],
      ["orders", "counter"],
      ["queue depth", "gauge"],
    ]);
    expect(attrs[1]).toMatchObject({
      firstMinute: NOW - 7 * DAY_MS - 2 * HOUR_MS,
      lastMinute: NOW - MIN,
    });
    expect(await listAttributes(fresh.store.db, "No.Such")).toEqual([]);
  });

  it("reads a range of one instance and of the total, minute by minute", async () => {
    const s = await querySeries(fresh.store, {
      service: SVC,
      attr: "orders",
      instance: A,
      from: NOW - 2 * HOUR_MS,
      to: NOW,
      compare: [],
      stat: "value",
    });
    expect(s).toMatchObject({
      kind: "counter",
      step: MIN,
      resolution: "minute",
      from: NOW - 2 * HOUR_MS,
      to: NOW,
    });
    const [current] = s.series;
    expect(current?.values).toHaveLength(121);
    expect(current?.values.slice(0, 3)).toEqual([100, 101, 102]);
    expect(current?.values.at(-1)).toBeNull(); // NOW itself has no point yet
    const total = await querySeries(fresh.store, {
      service: SVC,
      attr: "orders",
      instance: "*",
      from: NOW - 2 * HOUR_MS,
      to: NOW - 2 * HOUR_MS + 2 * MIN,
      compare: [],
      stat: "value",
    });
    expect(total.series[0]?.values).toEqual([101, 102, 103]);
  });

  it("aligns yesterday and a week ago onto the range's minutes, with nulls where nothing was sent", async () => {
    const s = await querySeries(fresh.store, {
      service: SVC,
      attr: "orders",
      instance: A,
      from: NOW - 2 * HOUR_MS - 2 * MIN,
      to: NOW - 2 * HOUR_MS + MIN,
      compare: ["yesterday", "week"],
      stat: "value",
    });
    expect(s.series.map((x) => [x.name, x.offset, x.values])).toEqual([
      ["current", 0, [null, null, 100, 101]],
      ["yesterday", DAY_MS, [null, null, 200, 201]],
      ["week", 7 * DAY_MS, [null, null, 300, 301]],
    ]);
  });

  it("downsamples long ranges: counters sum, gauges average, histograms merge buckets", async () => {
    const range = {
      service: SVC,
      instance: A,
      from: NOW - 3 * DAY_MS,
      to: NOW,
      compare: [] as const,
    };
    const orders = await querySeries(fresh.store, { ...range, attr: "orders", stat: "value" });
    expect(orders.step).toBe(5 * MIN);
    expect(orders.series[0]?.values.length).toBeLessThanOrEqual(1440);
    const i = (NOW - 2 * HOUR_MS - orders.from) / orders.step;
    expect(orders.series[0]?.values[i]).toBe(100 + 101 + 102 + 103 + 104);
    const queue = await querySeries(fresh.store, { ...range, attr: "queue depth", stat: "value" });
    expect(queue.series[0]?.values[i]).toBe(2);
    const peak = await querySeries(fresh.store, { ...range, attr: "queue depth", stat: "max" });
    expect(peak.series[0]?.values[i]).toBe(4);
    const p99 = await querySeries(fresh.store, { ...range, attr: "latency ms", stat: "p99" });
    // 45 fast (≤10) and 5 slow (100..1000] in the bucket: p99 is in the slow bucket.
    expect(p99.series[0]?.values[i]).toBeCloseTo(100 + 900 * ((49.5 - 45) / 5));
    const count = await querySeries(fresh.store, { ...range, attr: "latency ms", stat: "value" });
    expect(count.series[0]?.values[i]).toBe(50);
    const mean = await querySeries(fresh.store, { ...range, attr: "latency ms", stat: "avg" });
    expect(mean.series[0]?.values[i]).toBeCloseTo((45 * 5 + 5 * 500) / 50);
  });

  it("reads the same through Kysely as through the engine's own handle", async () => {
    for (const [attr, stat] of [
      ["orders", "value"],
      ["latency ms", "p99"],
    ] as const) {
      const q = {
        service: SVC,
        attr,
        instance: A,
        from: NOW - DAY_MS,
        to: NOW,
        compare: ["yesterday"] as const,
        stat,
      };
      expect(await querySeries({ db: fresh.store.db }, q)).toEqual(
        await querySeries(fresh.store, q),
      );
    }
  });

  it("refuses an unknown attribute and a percentile of a counter", async () => {
    const q = { service: SVC, instance: "*", from: NOW - HOUR_MS, to: NOW, compare: [] };
    await expect(
      querySeries(fresh.store, { ...q, attr: "nope", stat: "value" }),
    ).rejects.toMatchObject({
      code: "not_found",
    });
    await expect(
      querySeries(fresh.store, { ...q, attr: "orders", stat: "p99" }),
    ).rejects.toMatchObject({
      code: "invalid_argument",
      field: "query.stat",
    });
  });

  it("ranks instances by sum, last value or peak, leaving out the total", async () => {
    const q = { service: SVC, from: NOW - 2 * HOUR_MS, to: NOW, limit: 10 };
    const orders = await queryTop(fresh.store.db, { ...q, attr: "orders" });
    expect(orders.by).toBe("sum");
    expect(orders.instances).toEqual([
      { instance: A, value: 120 * 100 + (119 * 120) / 2, lastMinute: NOW - MIN },
      { instance: B, value: 120, lastMinute: NOW - MIN },
    ]);
    const queue = await queryTop(fresh.store.db, { ...q, attr: "queue depth" });
    expect(queue.by).toBe("last");
    expect(queue.instances.map((x) => [x.instance, x.value])).toEqual(
      [
        [B, 100],
        [A, 119],
      ].sort((x, y) => (y[1] as number) - (x[1] as number)),
    );
    const one = await queryTop(fresh.store.db, { ...q, attr: "queue depth", by: "max", limit: 1 });
    expect(one.instances).toHaveLength(1);
    expect(one.instances[0]).toMatchObject({ instance: A, value: 119 });
  });

  it("exports each attribute's latest complete minute for Prometheus", async () => {
    expect(exportMinute(NOW - MIN, NOW + 10_000)).toBe(NOW - MIN);
    const points = await latestPoints(fresh.store.db, NOW + 10_000);
    expect(points.filter((p) => p.attr === "orders")).toEqual([
      { service: SVC, attr: "orders", instance: "*", kind: "counter", value: 220, hist: null },
      { service: SVC, attr: "orders", instance: A, kind: "counter", value: 219, hist: null },
      { service: SVC, attr: "orders", instance: B, kind: "counter", value: 1, hist: null },
    ]);
    expect(renderExport(points)).toContain(
      `msec_attr_minute_value{service="${SVC}",instance="*",attr="queue depth"} 219`,
    );
    // Three minutes later nothing is fresh enough to export.
    expect(await latestPoints(fresh.store.db, NOW + 3 * MIN)).toEqual([]);
  });

  it("rolls minutes past retention into hours, deletes them, and reads the hours back", async () => {
    const old = NOW - 40 * DAY_MS; // a whole hour, 40 days back
    await writePoints(
      fresh.store,
      "Old.Svc",
      A,
      minutes(old, 60, (i) => [counter("hits", 2), gauge("level", i), latency(1, 1)]),
    );
    await writePoints(
      fresh.store,
      "Old.Svc",
      A,
      minutes(old + HOUR_MS, 30, () => [counter("hits", 1)]),
    );
    // Older than the hourly retention: deleted outright.
    await writePoints(
      fresh.store,
      "Old.Svc",
      B,
      minutes(NOW - 400 * DAY_MS, 2, () => [counter("hits", 5)]),
    );

    const report = await runRetention(fresh.store.db, NOW, { minuteDays: 30, hourDays: 365 });
    expect(report).toMatchObject({
      rolledHours: 2,
      deletedMinutes: 60 * 3 * 2 + 30 * 2 + 2 * 2,
      more: false,
    });
    // Idempotent: nothing left to do.
    expect(
      await runRetention(fresh.store.db, NOW, { minuteDays: 30, hourDays: 365 }),
    ).toMatchObject({
      rolledHours: 0,
      deletedMinutes: 0,
    });
    const hours = await fresh.store.db
      .selectFrom("metric_hours")
      .selectAll()
      .where("service", "=", "Old.Svc")
      .where("instance", "=", A)
      .orderBy("attr")
      .orderBy("hour")
      .execute();
    expect(
      hours.map((h) => [h.attr, Number(h.hour), h.value, h.samples, h.min, h.max, h.last]),
    ).toEqual([
      ["hits", old, 120, 60, 2, 2, 2],
      ["hits", old + HOUR_MS, 30, 30, 1, 1, 1],
      ["latency ms", old, 120, 60, 2, 2, 2],
      ["level", old, 29.5, 60, 0, 59, 59],
    ]);
    expect(JSON.parse(hours[2]?.hist ?? "null")).toMatchObject({ counts: [60, 0, 60, 0] });

    const day = {
      service: "Old.Svc",
      instance: A,
      from: old - HOUR_MS,
      to: old + 2 * HOUR_MS,
      compare: [] as const,
    };
    const hits = await querySeries(fresh.store, { ...day, attr: "hits", stat: "value" });
    expect(hits).toMatchObject({ resolution: "hour", step: HOUR_MS, from: old - HOUR_MS });
    expect(hits.series[0]?.values).toEqual([null, 120, 30, null]);
    const perMinute = await querySeries(fresh.store, { ...day, attr: "hits", stat: "avg" });
    expect(perMinute.series[0]?.values).toEqual([null, 2, 1, null]);
    const level = await querySeries(fresh.store, { ...day, attr: "level", stat: "value" });
    expect(level.series[0]?.values[1]).toBe(29.5);
    const p50 = await querySeries(fresh.store, { ...day, attr: "latency ms", stat: "p50" });
    expect(p50.series[0]?.values[1]).toBe(10);

    const top = await queryTop(fresh.store.db, {
      service: "Old.Svc",
      attr: "hits",
      from: old,
      to: old + 2 * HOUR_MS,
      limit: 5,
    });
    expect(top.instances).toEqual([{ instance: A, value: 150, lastMinute: old + HOUR_MS }]);
    // The total rolled up too, and the recent data was not touched.
    const total = await querySeries(fresh.store, {
      ...day,
      instance: "*",
      attr: "hits",
      stat: "value",
    });
    expect(total.series[0]?.values).toEqual([null, 120, 30, null]);
    const recent = await querySeries(fresh.store, {
      service: SVC,
      attr: "orders",
      instance: A,
      from: NOW - 2 * HOUR_MS,
      to: NOW - 2 * HOUR_MS,
      compare: ["week"],
      stat: "value",
    });
    expect(recent.series.map((x) => x.values)).toEqual([[100], [300]]);
  });

  it("reads minutes for hours not rolled up yet next to hourly rows", async () => {
    // Rolled hour (from the test above) followed by an hour whose minutes are still there.
    const old = NOW - 40 * DAY_MS;
    await writePoints(
      fresh.store,
      "Old.Svc",
      A,
      minutes(old + 3 * HOUR_MS, 10, () => [counter("hits", 3)]),
    );
    const s = await querySeries(fresh.store, {
      service: "Old.Svc",
      attr: "hits",
      instance: A,
      from: old,
      to: old + 3 * HOUR_MS,
      compare: [],
      stat: "last",
    });
    expect(s.series[0]?.values).toEqual([2, 1, null, 3]);
  });

  it("works through a backlog in bounded steps, and forgets attributes with nothing left", async () => {
    const old = NOW - 50 * DAY_MS;
    for (const [instance, hits] of [
      [A, 1],
      [B, 2],
    ] as const) {
      await writePoints(
        fresh.store,
        "Backlog.Svc",
        instance,
        minutes(old, 3 * 60, (i) => [counter("hits", hits), gauge("level", i % 60)]),
      );
    }
    await writePoints(
      fresh.store,
      "Gone.Svc",
      A,
      minutes(NOW - 400 * DAY_MS, 5, () => [counter("x", 1)]),
    );
    const s = { minuteDays: 30, hourDays: 365 };
    // Reads of 70 rows end inside hours; runs of 100 rows stop with work left.
    let runs = 0;
    for (let more = true; more; runs++) {
      const r = await runRetention(fresh.store.db, NOW, s, { rowsPerRun: 100, rowsPerRead: 70 });
      more = r.more;
      expect(runs).toBeLessThan(100);
    }
    expect(runs).toBeGreaterThan(3);
    const hours = await fresh.store.db
      .selectFrom("metric_hours")
      .select(["attr", "instance", "hour", "value", "samples", "min", "max", "last"])
      .where("service", "=", "Backlog.Svc")
      .orderBy("attr")
      .orderBy("instance")
      .orderBy("hour")
      .execute();
    const row = (attr: string, instance: string, h: number, value: number, mx: number) => ({
      attr,
      instance,
      hour: old + h * HOUR_MS,
      value,
      samples: 60,
      min: attr === "level" ? 0 : value / 60,
      max: mx,
      last: mx,
    });
    expect(hours.map((h) => ({ ...h, hour: Number(h.hour) }))).toEqual([
      ...[0, 1, 2].map((h) => row("hits", "*", h, 180, 3)),
      ...[0, 1, 2].map((h) => row("hits", A, h, 60, 1)),
      ...[0, 1, 2].map((h) => row("hits", B, h, 120, 2)),
      ...["*", A, B].flatMap((inst) =>
        [0, 1, 2].map((h) => ({
          ...row("level", inst, h, inst === "*" ? 59 : 29.5, inst === "*" ? 118 : 59),
          min: 0,
        })),
      ),
    ]);
    const left = await fresh.store.db
      .selectFrom("metric_points")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("service", "in", ["Backlog.Svc", "Gone.Svc"])
      .executeTakeFirstOrThrow();
    expect(Number(left.n)).toBe(0);
    expect(await listAttributes(fresh.store.db, "Gone.Svc")).toEqual([]);
    expect((await listAttributes(fresh.store.db, "Backlog.Svc")).map((a) => a.attr)).toEqual([
      "hits",
      "level",
    ]);
  });
});
