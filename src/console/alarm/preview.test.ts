import { describe, expect, it } from "vitest";
import { AlarmRuleInput } from "../../core/schemas/alarm.js";
import { MINUTE_MS } from "../../core/schemas/monitor.js";
import { simulate } from "./preview.js";

const T0 = Date.UTC(2026, 0, 15, 10, 0);
const min = (i: number) => T0 + i * MINUTE_MS;

describe("preview", () => {
  it("replays stored minutes through the rule and the lifecycle", () => {
    const rule = AlarmRuleInput.parse({
      service: "Login.Auth",
      attr: "errors",
      kind: "max",
      threshold: 10,
    });
    const values = [1, 50, 60, 2, 2, 70, 3];
    const series = new Map(values.map((v, i) => [min(i), v]));
    const sim = simulate(rule, series, min(0), min(6));
    expect(sim.firing.map((f) => f.minute)).toEqual([min(1), min(2), min(5)]);
    expect(sim.alarms).toEqual([
      { firedAt: min(2), resolvedAt: min(4) },
      { firedAt: min(6), resolvedAt: min(7) },
    ]);
  });

  it("warms the flap window up on the minutes before `from`", () => {
    const rule = AlarmRuleInput.parse({
      service: "Login.Auth",
      attr: "errors",
      kind: "max",
      threshold: 10,
      flap: { n: 2, m: 3 },
    });
    const series = new Map([
      [min(-1), 50],
      [min(0), 50],
    ]);
    expect(simulate(rule, series, min(0), min(0)).firing.map((f) => f.minute)).toEqual([min(0)]);
  });
});
