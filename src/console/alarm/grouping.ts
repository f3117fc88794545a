/**
 * Grouping: every notice of one service from one evaluated minute goes to each of its
 * receivers as one message, `{ receiver, service, minute, summary, alarms: [...] }`.
 *
 * ```ts
 * groupNotices([{ receivers: ["ops"], notice: a }, { receivers: ["ops"], notice: b }], minute);
 * // → one message to "ops" holding a and b (when both are of the same service)
 * ```
 */
import type { AlarmMessage, AlarmNotice, NoticeEvent } from "../../core/schemas/alarm.js";

export interface AddressedNotice {
  receivers: readonly string[];
  notice: AlarmNotice;
}

const SUMMARY_MAX = 300;

export function groupNotices(notices: readonly AddressedNotice[], minute: number): AlarmMessage[] {
  const byKey = new Map<string, { receiver: string; service: string; alarms: AlarmNotice[] }>();
  for (const { receivers, notice } of notices) {
    for (const receiver of new Set(receivers)) {
      const key = `${notice.service}\u0000${receiver}`;
      let g = byKey.get(key);
      if (!g) {
        g = { receiver, service: notice.service, alarms: [] };
        byKey.set(key, g);
      }
      g.alarms.push(notice);
    }
  }
  const iso = new Date(minute).toISOString();
  return [...byKey.values()]
    .sort((a, b) => cmp(a.service, b.service) || cmp(a.receiver, b.receiver))
    .map((g) => {
      const alarms = [...g.alarms].sort((a, b) => a.alarmId - b.alarmId);
      return {
        receiver: g.receiver,
        service: g.service,
        minute: iso,
        summary: summarize(g.service, alarms),
        alarms,
      };
    });
}

const SEVERITY_ORDER = ["info", "warning", "critical"] as const;
const EVENT_ORDER: readonly NoticeEvent[] = ["firing", "repeat", "resolved"];

/** One line: `Login.Auth: 2 firing, 1 resolved (critical) — logins fell 60% …; errors = 50 > max 10`. */
export function summarize(service: string, alarms: readonly AlarmNotice[]): string {
  const counts = EVENT_ORDER.map((e) => [e, alarms.filter((a) => a.event === e).length] as const)
    .filter(([, n]) => n > 0)
    .map(([e, n]) => `${n} ${e === "repeat" ? "still firing" : e}`)
    .join(", ");
  const open = alarms.filter((a) => a.event !== "resolved");
  const severity = open.reduce<number>(
    (w, a) => Math.max(w, SEVERITY_ORDER.indexOf(a.severity)),
    -1,
  );
  const sev = severity >= 0 ? ` (${SEVERITY_ORDER[severity]})` : "";
  const line = `${service}: ${counts}${sev} — ${alarms.map((a) => a.message).join("; ")}`;
  return line.length > SUMMARY_MAX ? `${line.slice(0, SUMMARY_MAX - 1)}…` : line;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
