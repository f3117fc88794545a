import type { Kysely } from "kysely";
import type { Engine } from "../engine.js";
import { idColumn } from "./columns.js";

/**
 * Alarms: rules, their current state (with the last evaluated minute, so a new
 * evaluator after a failover neither skips nor repeats a minute), the alarms they
 * raised with each alarm's history, silences, receivers; and leases, which keep
 * once-only work (the alarm evaluator) on one console replica at a time.
 */
export function alarms(engine: Engine) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable("leases")
        .addColumn("name", "text", (c) => c.primaryKey())
        .addColumn("holder", "text", (c) => c.notNull())
        .addColumn("expires_at", "bigint", (c) => c.notNull())
        .execute();

      await db.schema
        .createTable("alarm_receivers")
        .addColumn("name", "text", (c) => c.primaryKey())
        .addColumn("kind", "text", (c) => c.notNull())
        // JSON, secrets included: never sent out by the API.
        .addColumn("config", "text", (c) => c.notNull())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("updated_at", "bigint", (c) => c.notNull())
        .execute();

      await idColumn(engine, db.schema.createTable("alarm_rules"))
        .addColumn("service", "text", (c) => c.notNull())
        .addColumn("attr", "text", (c) => c.notNull())
        .addColumn("instance", "text", (c) => c.notNull())
        .addColumn("kind", "text", (c) => c.notNull())
        .addColumn("enabled", "integer", (c) => c.notNull())
        // JSON: the rest of the rule (threshold, fluctuation, severity, receivers, flap, ...).
        .addColumn("spec", "text", (c) => c.notNull())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("updated_at", "bigint", (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex("alarm_rules_service")
        .on("alarm_rules")
        .column("service")
        .execute();

      await db.schema
        .createTable("alarm_states")
        .addColumn("rule_id", "bigint", (c) =>
          c.primaryKey().references("alarm_rules.id").onDelete("cascade"),
        )
        .addColumn("state", "text", (c) => c.notNull())
        .addColumn("since", "bigint")
        .addColumn("alarm_id", "bigint")
        .addColumn("evaluated_minute", "bigint")
        // Bumped by every write: the evaluator and an acknowledgement compare-and-set on it.
        .addColumn("version", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("updated_at", "bigint", (c) => c.notNull())
        .execute();

      // No foreign key to the rule: an alarm's history outlives its rule.
      await idColumn(engine, db.schema.createTable("alarms"))
        .addColumn("rule_id", "bigint", (c) => c.notNull())
        .addColumn("service", "text", (c) => c.notNull())
        .addColumn("attr", "text", (c) => c.notNull())
        .addColumn("instance", "text", (c) => c.notNull())
        .addColumn("kind", "text", (c) => c.notNull())
        .addColumn("severity", "text", (c) => c.notNull())
        .addColumn("state", "text", (c) => c.notNull())
        .addColumn("value", "double precision")
        .addColumn("message", "text", (c) => c.notNull())
        .addColumn("fired_at", "bigint", (c) => c.notNull())
        .addColumn("resolved_at", "bigint")
        .addColumn("last_sent_at", "bigint")
        .addColumn("acked_by", "text")
        .addColumn("acked_at", "bigint")
        .execute();
      await db.schema.createIndex("alarms_state").on("alarms").columns(["state", "id"]).execute();
      await db.schema
        .createIndex("alarms_service")
        .on("alarms")
        .columns(["service", "id"])
        .execute();
      await db.schema.createIndex("alarms_rule").on("alarms").columns(["rule_id", "id"]).execute();

      await idColumn(engine, db.schema.createTable("alarm_events"))
        .addColumn("alarm_id", "bigint", (c) => c.notNull())
        .addColumn("at", "bigint", (c) => c.notNull())
        .addColumn("type", "text", (c) => c.notNull())
        .addColumn("details", "text", (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex("alarm_events_alarm")
        .on("alarm_events")
        .columns(["alarm_id", "id"])
        .execute();

      await idColumn(engine, db.schema.createTable("alarm_silences"))
        .addColumn("service", "text")
        .addColumn("attr", "text")
        .addColumn("rule_id", "bigint")
        .addColumn("until", "bigint", (c) => c.notNull())
        .addColumn("reason", "text", (c) => c.notNull())
        .addColumn("created_by", "text", (c) => c.notNull())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex("alarm_silences_until")
        .on("alarm_silences")
        .column("until")
        .execute();
    },
  };
}
