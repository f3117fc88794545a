import { type Kysely, sql } from "kysely";
import type { Engine } from "../engine.js";
import { idColumn } from "./columns.js";

/**
 * Machines and release plans: one-time join tokens, enrolled machines (with the
 * agent's last report), what each machine should run (one row per service), and
 * release plans with every step they took, so an executor restarted after a crash
 * finds exactly where the plan stood.
 */
export function machinesAndReleases(engine: Engine) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await idColumn(engine, db.schema.createTable("join_tokens"))
        .addColumn("token_hash", "text", (c) => c.notNull().unique())
        .addColumn("created_by", "text", (c) => c.notNull())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("expires_at", "bigint", (c) => c.notNull())
        .addColumn("used_at", "bigint")
        .addColumn("used_by", "text")
        .addColumn("labels", "text", (c) => c.notNull())
        .addColumn("note", "text", (c) => c.notNull())
        .execute();

      await idColumn(engine, db.schema.createTable("machines"))
        .addColumn("name", "text", (c) => c.notNull().unique())
        .addColumn("credential_hash", "text", (c) => c.notNull().unique())
        .addColumn("hostname", "text", (c) => c.notNull())
        .addColumn("agent_version", "text", (c) => c.notNull())
        .addColumn("labels", "text", (c) => c.notNull())
        .addColumn("enrolled_at", "bigint", (c) => c.notNull())
        .addColumn("last_seen_at", "bigint")
        // Grows with every change of this machine's deployments.
        .addColumn("desired_revision", "bigint", (c) => c.notNull().defaultTo(0))
        .addColumn("applied_revision", "bigint", (c) => c.notNull().defaultTo(0))
        // JSON: the agent's last report (ServiceReport[]).
        .addColumn("report", "text", (c) => c.notNull().defaultTo("[]"))
        .execute();

      await db.schema
        .createTable("deployments")
        .addColumn("machine_id", "bigint", (c) =>
          c.notNull().references("machines.id").onDelete("cascade"),
        )
        .addColumn("service", "text", (c) => c.notNull())
        // JSON: the Deployment (artifact refs, weight).
        .addColumn("spec", "text", (c) => c.notNull())
        .addColumn("updated_at", "bigint", (c) => c.notNull())
        .addPrimaryKeyConstraint("deployments_pk", ["machine_id", "service"])
        .execute();
      await db.schema
        .createIndex("deployments_service")
        .on("deployments")
        .column("service")
        .execute();

      await idColumn(engine, db.schema.createTable("release_plans"))
        .addColumn("service", "text", (c) => c.notNull())
        .addColumn("type", "text", (c) => c.notNull())
        .addColumn("state", "text", (c) => c.notNull())
        .addColumn("paused_for", "text")
        // JSON: the CreateReleaseRequest as accepted.
        .addColumn("spec", "text", (c) => c.notNull())
        // JSON: the executor's position (batches with their machines, current batch, phase, timers).
        .addColumn("progress", "text", (c) => c.notNull())
        .addColumn("created_by", "text", (c) => c.notNull())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("updated_at", "bigint", (c) => c.notNull())
        .addColumn("started_at", "bigint")
        .addColumn("ended_at", "bigint")
        .addColumn("error", "text")
        .addColumn("note", "text", (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex("release_plans_service")
        .on("release_plans")
        .columns(["service", "id"])
        .execute();
      // Two plans moving one service at once are refused by the store itself, races included.
      await db.schema
        .createIndex("release_plans_one_active")
        .on("release_plans")
        .column("service")
        .unique()
        .where(sql.ref("state"), "in", sql`('running', 'paused', 'rolling_back')`)
        .execute();

      await idColumn(engine, db.schema.createTable("release_steps"))
        .addColumn("plan_id", "bigint", (c) =>
          c.notNull().references("release_plans.id").onDelete("cascade"),
        )
        .addColumn("batch", "integer", (c) => c.notNull())
        .addColumn("machine_id", "bigint", (c) => c.notNull())
        .addColumn("machine_name", "text", (c) => c.notNull())
        .addColumn("action", "text", (c) => c.notNull())
        .addColumn("state", "text", (c) => c.notNull())
        // JSON Deployment or null: what the machine had before, to roll back to exactly that.
        .addColumn("before", "text")
        .addColumn("after", "text")
        // The machine's desired revision this step wrote; the step is done once applied.
        .addColumn("revision", "bigint", (c) => c.notNull())
        .addColumn("started_at", "bigint", (c) => c.notNull())
        .addColumn("ended_at", "bigint")
        .addColumn("error", "text")
        .execute();
      await db.schema
        .createIndex("release_steps_plan")
        .on("release_steps")
        .columns(["plan_id", "id"])
        .execute();
    },
  };
}
