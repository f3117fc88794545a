import type { AlarmMessage } from "../../../core/schemas/alarm.js";

/** A grouped alarm message for notifier tests (non-ASCII in summary and message on purpose). */
export const SAMPLE_MESSAGE: AlarmMessage = {
  receiver: "ops",
  service: "Login.Auth",
  minute: "2026-01-15T10:30:00.000Z",
  summary: "Login.Auth: 1 firing (critical) — logins fell 60% against the same minute yesterday",
  alarms: [
    {
      alarmId: 4,
      ruleId: 2,
      event: "firing",
      service: "Login.Auth",
      attr: "logins",
      instance: "*",
      kind: "fluctuation",
      severity: "critical",
      value: 400,
      message: "logins fell 60% against the same minute yesterday (400 vs 1000; fires at ±50%)",
      firedAt: "2026-01-15T10:31:00.000Z",
      resolvedAt: null,
    },
  ],
};
