import type { Kysely } from "kysely";
import type { Engine } from "../engine.js";

/**
 * The name service's registry: services and their instances. The console keeps the
 * registry in memory and writes here so that a restart loads it back.
 */
export function naming(_engine: Engine) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable("naming_services")
        .addColumn("name", "text", (c) => c.primaryKey())
        .addColumn("description", "text", (c) => c.notNull())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        // JSON array of the times (ms) of recent evictions: the protection baseline.
        .addColumn("recent_evictions", "text", (c) => c.notNull().defaultTo("[]"))
        .execute();

      await db.schema
        .createTable("naming_instances")
        .addColumn("service", "text", (c) =>
          c.notNull().references("naming_services.name").onDelete("cascade"),
        )
        .addColumn("addr", "text", (c) => c.notNull())
        .addColumn("weight", "integer", (c) => c.notNull())
        .addColumn("weight_override", "integer")
        .addColumn("labels", "text", (c) => c.notNull())
        .addColumn("health", "text", (c) => c.notNull())
        .addColumn("disabled", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("ttl_ms", "bigint", (c) => c.notNull())
        .addColumn("registered_at", "bigint", (c) => c.notNull())
        .addColumn("last_seen", "bigint", (c) => c.notNull())
        .addPrimaryKeyConstraint("naming_instances_pk", ["service", "addr"])
        .execute();
    },
  };
}
