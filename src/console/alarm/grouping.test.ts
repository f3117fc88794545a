import { describe, expect, it } from "vitest";
import type { AlarmNotice } from "../../core/schemas/alarm.js";
import { groupNotices, summarize } from "./grouping.js";
import { silenceMatches, silencing } from "./silence.js";

const MINUTE = Date.UTC(2026, 0, 15, 10, 30);

function notice(over: Partial<AlarmNotice>): AlarmNotice {
  return {
    alarmId: 1,
    ruleId: 1,
    event: "firing",
    service: "Login.Auth",
    attr: "errors",
    instance: "*",
    kind: "max",
    severity: "warning",
    value: 50,
    message: "errors = 50 > max 10",
    firedAt: new Date(MINUTE + 60_000).toISOString(),
    resolvedAt: null,
    ...over,
  };
}

describe("grouping", () => {
  it("sends one message per receiver per service per minute", () => {
    const a = notice({ alarmId: 2, ruleId: 2, attr: "errors" });
    const b = notice({
      alarmId: 1,
      ruleId: 1,
      attr: "qps",
      kind: "min",
      severity: "critical",
      message: "qps = 20 < min 100",
    });
    const c = notice({ alarmId: 3, service: "Pay.Core" });
    const messages = groupNotices(
      [
        { receivers: ["ops", "sms"], notice: a },
        { receivers: ["ops"], notice: b },
        { receivers: ["ops", "ops"], notice: c },
      ],
      MINUTE,
    );
    expect(messages.map((m) => [m.service, m.receiver, m.alarms.map((x) => x.alarmId)])).toEqual([
      ["Login.Auth", "ops", [1, 2]],
      ["Login.Auth", "sms", [2]],
      ["Pay.Core", "ops", [3]],
    ]);
    expect(messages[0]?.minute).toBe("2026-01-15T10:30:00.000Z");
    expect(messages[0]?.summary).toBe(
      "Login.Auth: 2 firing (critical) — qps = 20 < min 100; errors = 50 > max 10",
    );
  });

  it("sends nothing for notices without receivers", () => {
    expect(groupNotices([{ receivers: [], notice: notice({}) }], MINUTE)).toEqual([]);
  });

  it("summarizes mixed events and keeps the line short", () => {
    const s = summarize("Login.Auth", [
      notice({ event: "repeat" }),
      notice({ event: "resolved", severity: "critical", message: "x".repeat(400) }),
    ]);
    expect(s.startsWith("Login.Auth: 1 still firing, 1 resolved (warning) — ")).toBe(true);
    expect(s.length).toBe(300);
  });
});

describe("silences", () => {
  const rule = { id: 7, service: "Login.Auth", attr: "logins" };
  const until = MINUTE + 3_600_000;

  it("match on every field they name, until their time", () => {
    const base = { id: 1, service: null, attr: null, ruleId: null, until };
    expect(silenceMatches({ ...base, service: "Login.Auth" }, rule, MINUTE)).toBe(true);
    expect(silenceMatches({ ...base, service: "Login.Auth", attr: "errors" }, rule, MINUTE)).toBe(
      false,
    );
    expect(silenceMatches({ ...base, ruleId: 7 }, rule, MINUTE)).toBe(true);
    expect(silenceMatches({ ...base, ruleId: 8 }, rule, MINUTE)).toBe(false);
    expect(silenceMatches({ ...base, attr: "logins" }, rule, until)).toBe(false);
  });

  it("lists the silences that hold a rule", () => {
    const s = [
      { id: 1, service: "Login.Auth", attr: null, ruleId: null, until },
      { id: 2, service: "Pay.Core", attr: null, ruleId: null, until },
      { id: 3, service: null, attr: "logins", ruleId: 7, until },
    ];
    expect(silencing(s, rule, MINUTE)).toEqual([1, 3]);
  });
});
