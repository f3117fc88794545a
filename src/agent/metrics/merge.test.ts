import { describe, expect, it } from "vitest";
import type { IngestPoint } from "../../core/schemas/monitor.js";
import { parseIngest } from "./ingest.js";
import { BatchMerger, countPoints, type InstanceMinutes, mergeBodies } from "./merge.js";

const M = 60_000 * 29_000_000; // a whole minute
const c = (attr: string, value: number): IngestPoint => ({ attr, kind: "counter", value });
const batch = (
  instance: string,
  minutes: [number, IngestPoint[]][],
  service = "Demo.Echo",
): InstanceMinutes => ({
  service,
  instance,
  minutes: minutes.map(([minute, points]) => ({ minute, points })),
});

/** What the console would hold after storing bodies in order: last value per key, totals as sums. */
function consoleView(bodies: { batches: InstanceMinutes[] }[]) {
  const rows = new Map<string, number>();
  for (const b of bodies)
    for (const inst of b.batches)
      for (const m of inst.minutes)
        for (const p of m.points)
          rows.set(`${inst.service}|${inst.instance}|${m.minute}|${p.attr}`, p.value);
  const totals = new Map<string, number>();
  for (const [k, v] of rows) {
    const [service, , minute, attr] = k.split("|");
    const t = `${service}|*|${minute}|${attr}`;
    totals.set(t, (totals.get(t) ?? 0) + v);
  }
  return { rows, totals };
}

describe("BatchMerger", () => {
  it("keeps the last value of a resent minute (the console replaces, so no sum)", () => {
    const m = new BatchMerger();
    m.add(batch("10.0.0.1:80", [[M, [c("echoes", 3), c("errors", 1)]]]));
    m.add(batch("10.0.0.1:80", [[M, [c("echoes", 7)]]]));
    m.add(batch("10.0.0.2:80", [[M, [c("echoes", 5)]]]));
    expect(m.points).toBe(3);
    const bodies = m.take();
    expect(bodies).toHaveLength(1);
    const view = consoleView(bodies);
    expect(view.rows.get(`Demo.Echo|10.0.0.1:80|${M}|echoes`)).toBe(7);
    expect(view.rows.get(`Demo.Echo|10.0.0.1:80|${M}|errors`)).toBe(1);
    expect(view.totals.get(`Demo.Echo|*|${M}|echoes`)).toBe(12);
    expect(m.points).toBe(0);
    expect(m.take()).toEqual([]);
  });

  it("merged or not, the console ends with the same values and totals", () => {
    const sent = [
      { batches: [batch("a:1", [[M, [c("x", 1)]]])] },
      { batches: [batch("b:1", [[M, [c("x", 4)]]]), batch("a:1", [[M, [c("x", 2)]]])] },
      {
        batches: [
          batch("a:1", [
            [M, [c("x", 6)]],
            [M + 60_000, [c("x", 1)]],
          ]),
        ],
      },
      { batches: [batch("a:1", [[M + 60_000, [c("x", 3), c("y", 2)]]], "Other.Svc")] },
    ];
    expect(consoleView(mergeBodies(sent))).toEqual(consoleView(sent));
  });

  it("cuts bodies to the console's limits and loses nothing", () => {
    const limits = { batchesPerBody: 2, minutesPerBatch: 2, pointsPerMinute: 3, pointsPerBody: 7 };
    const m = new BatchMerger();
    for (let i = 0; i < 3; i++)
      m.add(
        batch(`h:${i}`, [
          [M, Array.from({ length: 5 }, (_, k) => c(`a${k}`, k + i))],
          [M + 60_000, [c("a0", 1)]],
          [M + 120_000, [c("a0", 2)]],
        ]),
      );
    const before = m.points;
    const bodies = m.take(limits);
    expect(bodies.reduce((n, b) => n + countPoints(b), 0)).toBe(before);
    for (const b of bodies) {
      expect(b.batches.length).toBeLessThanOrEqual(2);
      expect(countPoints(b)).toBeLessThanOrEqual(7);
      for (const inst of b.batches) {
        expect(inst.minutes.length).toBeGreaterThan(0);
        expect(inst.minutes.length).toBeLessThanOrEqual(2);
        for (const min of inst.minutes) expect(min.points.length).toBeLessThanOrEqual(3);
      }
    }
  });
});

describe("parseIngest", () => {
  it("takes the shipper's single batch and the {batches} form", () => {
    const one = parseIngest({
      service: "Demo.Echo",
      instance: "127.0.0.1:9",
      minutes: [{ minute: M, points: [c("x", 1)] }],
    });
    expect(one.accepted).toBe(1);
    expect(one.batches[0]?.instance).toBe("127.0.0.1:9");
    const many = parseIngest({ batches: [batch("127.0.0.1:9", [[M, [c("x", 1)]]])] });
    expect(many.batches).toHaveLength(1);
  });

  it("refuses a bad envelope naming the field; leaves out bad points one by one", () => {
    expect(() => parseIngest({ service: "nope", instance: "127.0.0.1:9", minutes: [] })).toThrow(
      expect.objectContaining({ code: "invalid_argument", field: "body.service" }),
    );
    expect(() =>
      parseIngest({
        service: "A.B",
        instance: "127.0.0.1:9",
        minutes: [{ minute: 5, points: [] }],
      }),
    ).toThrow(expect.objectContaining({ field: "body.minutes.0.minute" }));
    const r = parseIngest({
      batches: [
        batch("127.0.0.1:9", [
          [M, [c("ok", 1), { attr: "bad", kind: "counter", value: Number.NaN }]],
        ]),
      ],
    });
    expect(r.accepted).toBe(1);
    expect(r.rejected).toEqual([
      expect.objectContaining({ at: "batches.0.minutes.0.points.1.value", attr: "bad" }),
    ]);
    expect(r.batches[0]?.minutes[0]?.points).toEqual([c("ok", 1)]);
  });
});
