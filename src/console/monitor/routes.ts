import type { FastifyInstance } from "fastify";
import { MsecError } from "../../core/errors.js";
import type { IngestResult } from "../../core/schemas/monitor.js";
import type { ConsoleContext } from "../context.js";
import { checkIngest } from "./ingest.js";
import { writeBatches } from "./points.js";

// A minute batch of a busy process (thousands of attributes × a few minutes) is large.
const INGEST_BODY_LIMIT = 32 * 1024 * 1024;

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
      const { batches, rejected } = checkIngest(req.body, ctx.now());
      const accepted = await writeBatches(ctx.store, batches);
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
