import { describe, expect, it } from "vitest";
import { IngestPoint } from "../../core/schemas/monitor.js";
import { checkIngest, plainPoint } from "./ingest.js";

const MIN = 60_000;
const NOW = Date.UTC(2026, 2, 10, 12, 0);

describe("ingest checks", () => {
  it("takes by hand exactly the plain points the schema takes", () => {
    const long = "x".repeat(300);
    const cases: unknown[] = [
      { attr: "orders", kind: "counter", value: 3 },
      { attr: "VIP level 28 logins 你好 😀", kind: "gauge", value: -1.5 },
      { attr: "lat", kind: "histogram", value: 2 },
      { attr: "extra keys go", kind: "counter", value: 1, labels: { a: 1 } },
      { attr: long, kind: "counter", value: 0 },
      { attr: `${long}y`, kind: "counter", value: 0 },
      { attr: "", kind: "counter", value: 1 },
      { attr: "tab\there", kind: "counter", value: 1 },
      { attr: "del\u007f", kind: "counter", value: 1 },
      { attr: "nul\u0000", kind: "counter", value: 1 },
      { attr: "ok", kind: "summary", value: 1 },
      { attr: "ok", kind: "counter", value: "1" },
      { attr: "ok", kind: "counter", value: Number.NaN },
      { attr: "ok", kind: "counter", value: Number.POSITIVE_INFINITY },
      { attr: "ok", kind: "counter" },
      { attr: 5, kind: "counter", value: 1 },
      { kind: "counter", value: 1 },
      null,
      "orders",
      ["orders", "counter", 1],
    ];
    for (const raw of cases) {
      const schema = IngestPoint.safeParse(raw);
      const hand = plainPoint(raw);
      if (hand) expect(schema.data, JSON.stringify(raw)).toEqual(hand);
      // Everything the hand check leaves is for the schema: a point with a histogram, or a bad one.
      else expect(schema.success, JSON.stringify(raw)).toBe(false);
    }
    // A histogram point is the schema's to check.
    const h = {
      attr: "lat",
      kind: "histogram",
      value: 1,
      hist: { bounds: [1], counts: [1, 0], sum: 1 },
    };
    expect(plainPoint(h)).toBeNull();
    expect(IngestPoint.safeParse(h).success).toBe(true);
  });

  it("keeps good points, and names each bad one and future minute", () => {
    const r = checkIngest(
      {
        batches: [
          {
            service: "Shop.Cart",
            instance: "10.0.0.1:80",
            minutes: [
              {
                minute: NOW - MIN,
                points: [
                  { attr: "orders", kind: "counter", value: 3 },
                  { attr: "bad\nname", kind: "counter", value: 1 },
                  {
                    attr: "lat",
                    kind: "histogram",
                    value: 1,
                    hist: { bounds: [1], counts: [1, 0], sum: 1 },
                  },
                  { attr: "price", kind: "gauge", value: "12" },
                ],
              },
              { minute: NOW + 3 * MIN, points: [{ attr: "orders", kind: "counter", value: 1 }] },
            ],
          },
        ],
      },
      NOW,
    );
    expect(r.multi).toBe(true);
    expect(r.batches[0]?.minutes.map((m) => m.points.map((p) => p.attr))).toEqual([
      ["orders", "lat"],
    ]);
    expect(r.rejected).toEqual([
      {
        at: "batches.0.minutes.0.points.1.attr",
        attr: "bad\nname",
        error: "must not hold control characters",
      },
      { at: "batches.0.minutes.0.points.3.value", attr: "price", error: expect.any(String) },
      {
        at: "batches.0.minutes.1.minute",
        error: `minute ${new Date(NOW + 3 * MIN).toISOString()} is in the future`,
      },
    ]);
    expect(() => checkIngest({ service: "nodots", instance: "x", minutes: [] }, NOW)).toThrow(
      expect.objectContaining({ code: "invalid_argument" }),
    );
  });
});
