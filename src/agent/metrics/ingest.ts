import { z } from "zod";
import { MsecError } from "../../core/errors.js";
import {
  IngestBatch,
  IngestBatches,
  IngestPoint,
  type IngestResult,
} from "../../core/schemas/monitor.js";
import type { InstanceMinutes } from "./merge.js";

/**
 * Check what a process posted, as the console would: one batch (what the runtime's
 * shipper sends) or `{batches: [...]}`. A bad envelope throws invalid_argument naming
 * the field; bad points are left out one by one and listed in `rejected`.
 */
export function parseIngest(body: unknown): {
  batches: InstanceMinutes[];
  accepted: number;
  rejected: IngestResult["rejected"];
} {
  const multi = typeof body === "object" && body !== null && "batches" in body;
  const parsed = multi ? IngestBatches.safeParse(body) : IngestBatch.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = ["body", ...(issue?.path ?? []).map(String)].join(".");
    throw new MsecError("invalid_argument", `${field}: ${issue?.message ?? "is invalid"}`, {
      field,
    });
  }
  const raw = "batches" in parsed.data ? parsed.data.batches : [parsed.data];
  const rejected: IngestResult["rejected"] = [];
  let accepted = 0;
  const batches = raw.map((b, bi): InstanceMinutes => {
    const prefix = multi ? `batches.${bi}.` : "";
    return {
      service: b.service,
      instance: b.instance,
      minutes: b.minutes.map((m, mi) => {
        const points: IngestPoint[] = [];
        m.points.forEach((p, pi) => {
          const r = IngestPoint.safeParse(p);
          if (r.success) {
            points.push(r.data);
            accepted++;
            return;
          }
          const issue = r.error.issues[0];
          const attr = (p as { attr?: unknown } | null)?.attr;
          rejected.push({
            at: [`${prefix}minutes.${mi}.points.${pi}`, ...(issue?.path ?? []).map(String)].join(
              ".",
            ),
            ...(typeof attr === "string" ? { attr: attr.slice(0, 100) } : {}),
            error: issue?.message ?? "invalid point",
          });
        });
        return { minute: m.minute, points };
      }),
    };
  });
  return { batches, accepted, rejected };
}

/** A spooled body, checked again when read back (the disk may have been tampered with). */
export const SpooledBody = z.object({
  batches: z.array(
    IngestBatch.extend({
      minutes: z.array(z.object({ minute: z.number().int(), points: z.array(IngestPoint) })),
    }),
  ),
});
