import type { Kysely } from "kysely";
import type { Engine } from "../engine.js";

/**
 * A second, read-only credential per machine for the service processes its agent runs
 * (`msecs_…`): they resolve names with it, and cannot act as the agent.
 */
export function serviceCredentials(_engine: Engine) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable("machines").addColumn("service_credential_hash", "text").execute();
      await db.schema
        .createIndex("machines_service_credential")
        .on("machines")
        .column("service_credential_hash")
        .unique()
        .execute();
    },
  };
}
