import { describe, expect, it } from "vitest";
import { renderPrometheus } from "./prometheus.js";
import { MetricsRegistry } from "./registry.js";

describe("metrics registry", () => {
  it("returns the same handle for the same name and labels", () => {
    const r = new MetricsRegistry();
    r.counter("VIP level 28 logins").inc();
    r.counter("VIP level 28 logins").inc(2);
    r.counter("logins", { zone: "sz", tier: "vip" }).inc();
    r.counter("logins", { tier: "vip", zone: "sz" }).inc();
    expect(r.counter("VIP level 28 logins").value).toBe(3);
    expect(r.counter("logins", { zone: "sz", tier: "vip" }).value).toBe(2);
    expect(r.all()).toHaveLength(2);
  });

  it("counts histogram observations into buckets", () => {
    const r = new MetricsRegistry();
    const h = r.histogram("latency", undefined, [1, 10]);
    for (const v of [0.5, 1, 5, 10, 50]) h.observe(v);
    expect([...h.counts]).toEqual([2, 2, 1]);
    expect(h.sum).toBe(66.5);
  });

  it("refuses an empty name", () => {
    expect(() => new MetricsRegistry().counter("")).toThrow(/1-200 characters/);
  });
});

describe("prometheus exposition", () => {
  it("renders free-text names as a label and rpc metrics as families", () => {
    const r = new MetricsRegistry();
    r.counter('VIP "level" 28\nlogins').inc(5);
    r.gauge("queue depth").set(3);
    r.counter("rpc.server.calls", { method: "Echo", code: "ok" }).inc(2);
    r.histogram("rpc.server.latency_ms", { method: "Echo" }, [1, 5]).observe(3);
    const text = renderPrometheus(r.all(), { service: "Demo.Echo" });
    expect(text).toContain(
      'msec_events_total{service="Demo.Echo",name="VIP \\"level\\" 28\\nlogins"} 5',
    );
    expect(text).toContain('msec_value{service="Demo.Echo",name="queue depth"} 3');
    expect(text).toContain("# TYPE msec_rpc_server_calls_total counter");
    expect(text).toContain(
      'msec_rpc_server_calls_total{service="Demo.Echo",method="Echo",code="ok"} 2',
    );
    expect(text).toContain(
      'msec_rpc_server_latency_seconds_bucket{service="Demo.Echo",method="Echo",le="0.001"} 0',
    );
    expect(text).toContain(
      'msec_rpc_server_latency_seconds_bucket{service="Demo.Echo",method="Echo",le="0.005"} 1',
    );
    expect(text).toContain(
      'msec_rpc_server_latency_seconds_bucket{service="Demo.Echo",method="Echo",le="+Inf"} 1',
    );
    expect(text).toContain(
      'msec_rpc_server_latency_seconds_count{service="Demo.Echo",method="Echo"} 1',
    );
  });
});
