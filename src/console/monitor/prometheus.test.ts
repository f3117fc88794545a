import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { type ExportedPoint, escapeLabel, exportMinute, renderExport } from "./prometheus.js";

const MIN = 60_000;
const T = Date.UTC(2026, 2, 10, 12, 0);
const PROMTOOL = "/usr/bin/promtool";

const points: ExportedPoint[] = [
  {
    service: "Demo.Echo",
    attr: "VIP level 28 logins",
    instance: "*",
    kind: "counter",
    value: 12,
    hist: null,
  },
  {
    service: "Demo.Echo",
    attr: 'rpc.server.calls{code=ok,method="Echo"} \\o/',
    instance: "10.0.0.1:80",
    kind: "counter",
    value: 1e21,
    hist: null,
  },
  {
    service: "Demo.Echo",
    attr: "队列 depth",
    instance: "*",
    kind: "gauge",
    value: -0.5,
    hist: null,
  },
  {
    service: "Demo.Echo",
    attr: "latency ms",
    instance: "[::1]:9000",
    kind: "histogram",
    value: 10,
    hist: { bounds: [1, 5, 10], counts: [2, 3, 4, 1], sum: 40 },
  },
];

describe("Prometheus export", () => {
  it("escapes label values", () => {
    expect(escapeLabel('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd');
    expect(escapeLabel("plain 中文")).toBe("plain 中文");
  });

  it("writes one gauge family per kind, each family's samples together", () => {
    const text = renderExport(points);
    expect(text).toContain(
      '# TYPE msec_attr_minute_increase gauge\nmsec_attr_minute_increase{service="Demo.Echo",instance="*",attr="VIP level 28 logins"} 12\n' +
        'msec_attr_minute_increase{service="Demo.Echo",instance="10.0.0.1:80",attr="rpc.server.calls{code=ok,method=\\"Echo\\"} \\\\o/"} 1e+21\n',
    );
    expect(text).toContain(
      'msec_attr_minute_value{service="Demo.Echo",instance="*",attr="队列 depth"} -0.5\n',
    );
    expect(text).toContain(
      'msec_attr_minute_observations{service="Demo.Echo",instance="[::1]:9000",attr="latency ms"} 10\n',
    );
    expect(text).toContain(
      'msec_attr_minute_observation_mean{service="Demo.Echo",instance="[::1]:9000",attr="latency ms"} 4\n',
    );
    expect(text).toContain(
      'msec_attr_minute_observation_quantile{service="Demo.Echo",instance="[::1]:9000",attr="latency ms",q="0.5"} 5\n',
    );
    expect(text.match(/^# TYPE /gm)).toHaveLength(5);
    expect(renderExport([])).toBe("");
  });

  it.skipIf(!existsSync(PROMTOOL))("passes promtool check metrics, lint included", () => {
    const r = spawnSync(PROMTOOL, ["check", "metrics"], {
      input: renderExport(points),
      encoding: "utf8",
    });
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  it("exports an attribute's newest complete minute, not the current one, nor a stale one", () => {
    const now = T + 10_000; // ten seconds into minute T
    expect(exportMinute(T, now)).toBe(T - MIN); // T is still filling
    expect(exportMinute(T - MIN, now)).toBe(T - MIN);
    expect(exportMinute(T - 2 * MIN, now)).toBe(T - 2 * MIN); // the batch for T - 1 is not in yet
    expect(exportMinute(T - 3 * MIN, now)).toBeNull();
  });
});
