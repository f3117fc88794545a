import type { FastifyInstance } from "fastify";
import { sql } from "kysely";
import { MsecError } from "../../core/errors.js";
import type { Health, VersionInfo } from "../../core/schemas/common.js";
import { VERSION } from "../../core/version.js";
import type { ConsoleContext } from "../context.js";

export function systemRoutes(app: FastifyInstance, ctx: ConsoleContext): void {
  // Public so load balancers and `msec up` can probe it; it reveals no data.
  app.get("/health", { config: { access: "public" } }, async () => {
    try {
      await sql`select 1`.execute(ctx.store.db);
    } catch (e) {
      throw new MsecError("unavailable", "the store does not answer", { cause: e });
    }
    const health: Health = { status: "ok", store: ctx.store.engine, version: VERSION };
    return health;
  });

  app.get("/version", { config: { access: "public" } }, async () => {
    const info: VersionInfo = {
      version: VERSION,
      node: process.version,
      schema: ctx.store.schemaVersion,
    };
    return info;
  });
}
