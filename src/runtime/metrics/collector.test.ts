import { describe, expect, it } from "vitest";
import { attrName, MinuteCollector } from "./collector.js";
import { MetricsRegistry } from "./registry.js";

const T0 = 1_700_000_040_000; // a whole minute

describe("minute collector", () => {
  it("files counter increases under the minute they happened in", () => {
    const r = new MetricsRegistry();
    const c = new MinuteCollector(r);
    const logins = r.counter("VIP level 28 logins");
    logins.inc(3);
    c.collect(T0 + 1000);
    logins.inc(2);
    c.collect(T0 + 30_000);
    logins.inc(5);
    c.collect(T0 + 61_000);
    expect(c.minutes()).toEqual([
      { minute: T0, points: [{ attr: "VIP level 28 logins", kind: "counter", value: 5 }] },
      { minute: T0 + 60_000, points: [{ attr: "VIP level 28 logins", kind: "counter", value: 5 }] },
    ]);
  });

  it("keeps a gauge's last value and a histogram's new observations", () => {
    const r = new MetricsRegistry();
    const c = new MinuteCollector(r);
    const h = r.histogram("lat", { method: "Echo" }, [1, 10]);
    h.observe(0.5);
    r.gauge("queue").set(4);
    c.collect(T0);
    h.observe(5);
    h.observe(50);
    r.gauge("queue").set(7);
    c.collect(T0 + 70_000);
    const [, second] = c.minutes();
    expect(second?.points).toEqual(
      expect.arrayContaining([
        { attr: "queue", kind: "gauge", value: 7 },
        {
          attr: "lat{method=Echo}",
          kind: "histogram",
          value: 2,
          hist: { bounds: [1, 10], counts: [0, 1, 1], sum: 55 },
        },
      ]),
    );
  });

  it("forgets acknowledged minutes except the current one, and bounds what it keeps", () => {
    const r = new MetricsRegistry();
    const c = new MinuteCollector(r, 3);
    const n = r.counter("n");
    for (let i = 0; i < 5; i++) {
      n.inc();
      c.collect(T0 + i * 60_000);
    }
    expect(c.minutes().map((m) => m.minute)).toEqual([T0 + 120_000, T0 + 180_000, T0 + 240_000]);
    c.acknowledge([T0 + 120_000, T0 + 240_000], T0 + 250_000);
    expect(c.minutes().map((m) => m.minute)).toEqual([T0 + 180_000, T0 + 240_000]);
  });

  it("names labelled attributes canonically", () => {
    expect(attrName("rpc.server.calls", { method: "Echo", code: "ok" })).toBe(
      "rpc.server.calls{code=ok,method=Echo}",
    );
    expect(attrName("plain", {})).toBe("plain");
  });
});
