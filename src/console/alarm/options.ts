import { MsecError } from "../../core/errors.js";
import { MINUTE_MS } from "../../core/schemas/monitor.js";

export interface AlarmOptions {
  /**
   * Test/dev knob: evaluate every `tickMs` instead of once a minute; each tick then moves
   * the evaluator's clock on by one whole minute, from `startMinute`. Null in production.
   */
  tickMs: number | null;
  /** Tick mode: the first minute evaluated (default: the last complete minute at start). */
  startMinute: number | null;
  /** Wait after each minute boundary, so late points of the minute just ended arrive. */
  delayMs: number;
  /** A rule that fell behind (console down, failover) catches up this many minutes at most. */
  catchUpMinutes: number;
  leaseTtlMs: number;
  leaseRenewMs: number;
  /** Webhook tries after the first and the first backoff (doubling). */
  webhookRetries: number;
  webhookBackoffMs: number;
}

export const DEFAULT_ALARM_OPTIONS: AlarmOptions = {
  tickMs: null,
  startMinute: null,
  delayMs: 10_000,
  catchUpMinutes: 10,
  leaseTtlMs: 30_000,
  leaseRenewMs: 10_000,
  webhookRetries: 3,
  webhookBackoffMs: 1000,
};

/**
 * Options from the environment, for tests and drills: `MSEC_ALARM_TICK_MS` (evaluate one
 * minute per tick of this many ms), `MSEC_ALARM_START` (tick mode's first minute, ISO time
 * or epoch ms), `MSEC_ALARM_DELAY_MS`, `MSEC_ALARM_WEBHOOK_BACKOFF_MS`.
 */
export function alarmOptionsFromEnv(env: NodeJS.ProcessEnv): Partial<AlarmOptions> {
  const out: Partial<AlarmOptions> = {};
  const tick = env.MSEC_ALARM_TICK_MS;
  if (tick) out.tickMs = whole("MSEC_ALARM_TICK_MS", tick, 10);
  const delay = env.MSEC_ALARM_DELAY_MS;
  if (delay) out.delayMs = whole("MSEC_ALARM_DELAY_MS", delay, 0);
  const backoff = env.MSEC_ALARM_WEBHOOK_BACKOFF_MS;
  if (backoff) out.webhookBackoffMs = whole("MSEC_ALARM_WEBHOOK_BACKOFF_MS", backoff, 0);
  const start = env.MSEC_ALARM_START;
  if (start) {
    const t = /^\d+$/.test(start) ? Number(start) : Date.parse(start);
    if (!Number.isFinite(t)) {
      throw new MsecError(
        "invalid_argument",
        `MSEC_ALARM_START: "${start}" is not a time (ISO-8601 or epoch ms)`,
        {
          field: "MSEC_ALARM_START",
        },
      );
    }
    out.startMinute = Math.floor(t / MINUTE_MS) * MINUTE_MS;
  }
  return out;
}

function whole(name: string, value: string, min: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min) {
    throw new MsecError(
      "invalid_argument",
      `${name}: "${value}" is not a whole number of milliseconds ≥ ${min}`,
      {
        field: name,
      },
    );
  }
  return n;
}
