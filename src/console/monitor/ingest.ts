import {
  IngestBatch,
  IngestBatches,
  IngestPoint,
  type IngestResult,
  MINUTE_MS,
} from "../../core/schemas/monitor.js";
import { parseInput } from "../http/validate.js";
import type { InstanceBatch, MinutePoints } from "./points.js";

// Clocks drift: accept points up to two minutes ahead of ours, not more.
const FUTURE_SLACK_MS = 2 * MINUTE_MS;

export interface CheckedIngest {
  /** True for `{ batches: [...] }` (an agent's machine), false for one instance's batch. */
  multi: boolean;
  /** The valid points, batch by batch. */
  batches: InstanceBatch[];
  /** Each refused point (or future minute): where, which attribute if readable, and why. */
  rejected: IngestResult["rejected"];
}

/**
 * Check an ingest body: one instance's batch, or `{ batches: [...] }` for many. A bad
 * envelope throws invalid_argument naming the field; bad points (and minutes in the
 * future) are left out one by one and listed in `rejected`, the rest is kept.
 */
export function checkIngest(body: unknown, now: number): CheckedIngest {
  const multi = typeof body === "object" && body !== null && "batches" in body;
  const parsed = multi
    ? parseInput(IngestBatches, body, "body").batches
    : [parseInput(IngestBatch, body, "body")];
  const rejected: IngestResult["rejected"] = [];
  const batches = parsed.map((batch, bi) => ({
    service: batch.service,
    instance: batch.instance,
    minutes: checkMinutes(batch, now, multi ? `batches.${bi}.` : "", rejected),
  }));
  return { multi, batches, rejected };
}

function checkMinutes(
  batch: IngestBatch,
  now: number,
  prefix: string,
  rejected: IngestResult["rejected"],
): MinutePoints[] {
  const minutes: MinutePoints[] = [];
  batch.minutes.forEach((m, mi) => {
    if (m.minute > now + FUTURE_SLACK_MS) {
      rejected.push({
        at: `${prefix}minutes.${mi}.minute`,
        error: `minute ${new Date(m.minute).toISOString()} is in the future`,
      });
      return;
    }
    const good: MinutePoints = { minute: m.minute, points: [] };
    m.points.forEach((raw, pi) => {
      const plain = plainPoint(raw);
      if (plain) {
        good.points.push(plain);
        return;
      }
      const p = IngestPoint.safeParse(raw);
      if (p.success) {
        good.points.push(p.data);
        return;
      }
      const issue = p.error.issues[0];
      const attr =
        typeof (raw as { attr?: unknown })?.attr === "string"
          ? (raw as { attr: string }).attr
          : undefined;
      rejected.push({
        at: [`${prefix}minutes.${mi}.points.${pi}`, ...(issue?.path ?? []).map(String)].join("."),
        ...(attr !== undefined ? { attr: attr.slice(0, 100) } : {}),
        error: issue?.message ?? "invalid point",
      });
    });
    if (good.points.length > 0) minutes.push(good);
  });
  return minutes;
}

/**
 * The common point — no histogram — checked by hand, accepting exactly what
 * `IngestPoint` accepts (the schema's rules, spelled out) at a fraction of its cost;
 * null sends the point to the schema, which also explains a refusal.
 */
export function plainPoint(raw: unknown): IngestPoint | null {
  if (typeof raw !== "object" || raw === null) return null;
  const { attr, kind, value, hist } = raw as Record<string, unknown>;
  if (hist !== undefined || typeof attr !== "string" || typeof value !== "number") return null;
  if (!Number.isFinite(value) || attr.length < 1 || attr.length > 300) return null;
  if (kind !== "counter" && kind !== "gauge" && kind !== "histogram") return null;
  for (let i = 0; i < attr.length; i++) {
    const c = attr.charCodeAt(i);
    if (c < 32 || c === 127) return null;
  }
  return { attr, kind, value };
}
