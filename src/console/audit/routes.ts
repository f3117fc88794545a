import type { FastifyInstance } from "fastify";
import { AuditQuery } from "../../core/schemas/auth.js";
import type { ConsoleContext } from "../context.js";
import { parseInput } from "../http/validate.js";
import { queryAudit } from "./repo.js";

export function auditRoutes(app: FastifyInstance, ctx: ConsoleContext): void {
  app.get("/audit", { config: { access: "admin" } }, async (req) => {
    const query = parseInput(AuditQuery, req.query, "query");
    return { entries: await queryAudit(ctx.store.db, query) };
  });
}
