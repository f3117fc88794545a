import { describe, expect, it } from "vitest";
import type { SeriesAnswer } from "../../core/schemas/monitor.js";
import { durationArg, formatValue, renderChart } from "./metric.js";

const answer = (values: (number | null)[], yesterday?: (number | null)[]): SeriesAnswer => ({
  service: "Demo.Echo",
  attr: "logins",
  instance: "*",
  kind: "counter",
  stat: "value",
  from: "2026-03-10T10:00:00.000Z",
  to: new Date(Date.parse("2026-03-10T10:00:00.000Z") + (values.length - 1) * 60_000).toISOString(),
  stepMs: 60_000,
  resolution: "minute",
  series: [
    { name: "current", offsetMs: 0, values },
    ...(yesterday ? [{ name: "yesterday" as const, offsetMs: 86_400_000, values: yesterday }] : []),
  ],
});

describe("metric chart", () => {
  it("draws both series, the current one on top, with axis labels and min/max/last", () => {
    const lines = renderChart(answer([0, 5, 10, null, 10], [10, 10, 0, 0, 0]), {
      width: 40,
      height: 5,
      timeZone: "UTC",
    });
    expect(lines).toEqual([
      "Demo.Echo · logins · total · counter value per 1m",
      "10 |oo* *",
      "   |",
      " 5 | *",
      "   |",
      " 0 |* ooo",
      "   +-----",
      "    10:00 10:04",
      "  * current   min 0  max 10  last 10",
      "  o yesterday min 0  max 10  last 0",
    ]);
  });

  it("fits long series into the width and says when there is nothing", () => {
    const lines = renderChart(answer(Array.from({ length: 1440 }, (_, i) => i)), {
      width: 60,
      height: 8,
      timeZone: "UTC",
    });
    expect(Math.max(...lines.slice(1, 9).map((l) => l.length))).toBeLessThanOrEqual(60);
    expect(renderChart(answer([null, null]), { width: 60, height: 8 })).toEqual([
      "Demo.Echo · logins · total · counter value per 1m",
      "(no points in this range)",
    ]);
  });

  it("formats numbers and durations", () => {
    expect(formatValue(1234.5678)).toBe("1235");
    expect(formatValue(0.000123456)).toBe("0.0001235");
    expect(formatValue(56_789)).toBe("56.8k");
    expect(formatValue(-2_500_000_000)).toBe("-2.5G");
    expect(durationArg("90m")).toBe(90 * 60_000);
    expect(durationArg("7d")).toBe(7 * 86_400_000);
    expect(() => durationArg("0h")).toThrow(/duration/);
    expect(() => durationArg("1w")).toThrow(/duration/);
  });
});
