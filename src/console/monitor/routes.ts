import type { FastifyInstance } from "fastify";
import { MsecError } from "../../core/errors.js";
import {
  IngestBatch,
  IngestBatches,
  IngestPoint,
  type IngestResult,
  MINUTE_MS,
} from "../../core/schemas/monitor.js";
import type { ConsoleContext } from "../context.js";
import { parseInput } from "../http/validate.js";
import { type InstanceBatch, type MinutePoints, writeBatches } from "./points.js";

// A minute batch of a busy process (thousands of attributes × a few minutes) is large.
const INGEST_BODY_LIMIT = 32 * 1024 * 1024;
// Clocks drift: accept points up to two minutes ahead of ours, not more.
const FUTURE_SLACK_MS = 2 * MINUTE_MS;

export function monitorIngestRoutes(app: FastifyInstance, ctx: ConsoleContext): void {
  /**
   * One instance's points for one or more minutes. A bad envelope is refused whole;
   * bad points are refused one by one and the rest is stored (then the answer is 400,
   * naming the first bad point, with `accepted` and every `rejected` point listed).
   */
  app.post(
    "/metrics/ingest",
    { config: { access: "operator", machines: true }, bodyLimit: INGEST_BODY_LIMIT },
    async (req, reply) => {
      // One instance's batch, or `{ batches: [...] }` for many (an agent's machine) in one commit.
      const multi = typeof req.body === "object" && req.body !== null && "batches" in req.body;
      const batches = multi
        ? parseInput(IngestBatches, req.body, "body").batches
        : [parseInput(IngestBatch, req.body, "body")];
      const now = ctx.now();
      const rejected: IngestResult["rejected"] = [];
      const good: InstanceBatch[] = batches.map((batch, bi) => ({
        service: batch.service,
        instance: batch.instance,
        minutes: checkMinutes(batch, now, multi ? `batches.${bi}.` : "", rejected),
      }));
      const accepted = await writeBatches(ctx.store, good);
      if (rejected.length > 0) {
        const first = rejected[0] as IngestResult["rejected"][number];
        const e = new MsecError(
          "invalid_argument",
          `body.${first.at}: ${first.error} (${rejected.length} point(s) refused, ${accepted} stored)`,
          {
            field: `body.${first.at}`,
          },
        );
        return reply.status(400).send({ ...e.toJSON(), accepted, rejected });
      }
      const result: IngestResult = { accepted, rejected };
      return result;
    },
  );
}

/** The batch's valid points; each refused point (or future minute) is added to `rejected`. */
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
