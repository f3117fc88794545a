import type { Kysely } from "kysely";
import type { Engine } from "../engine.js";

/**
 * Hourly rollups of per-minute points. Minutes older than the minute retention
 * (`MSEC_METRICS_RETENTION_DAYS`, default 30) are folded into one row per
 * (service, attribute, instance, hour) and deleted; hourly rows go after a year.
 *
 * `value` is the kind's natural figure for the hour (a counter's sum, a gauge's mean,
 * a histogram's count); `samples`, `min`, `max` and `last` keep what a chart of a
 * coarser step needs to aggregate hours the way it aggregates minutes.
 */
export function rollups(_engine: Engine) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable("metric_hours")
        .addColumn("service", "text", (c) => c.notNull())
        .addColumn("attr", "text", (c) => c.notNull())
        .addColumn("instance", "text", (c) => c.notNull())
        .addColumn("hour", "bigint", (c) => c.notNull())
        .addColumn("value", "double precision", (c) => c.notNull())
        .addColumn("samples", "integer", (c) => c.notNull())
        .addColumn("min", "double precision", (c) => c.notNull())
        .addColumn("max", "double precision", (c) => c.notNull())
        .addColumn("last", "double precision", (c) => c.notNull())
        .addColumn("hist", "text")
        .addPrimaryKeyConstraint("metric_hours_pk", ["service", "attr", "instance", "hour"])
        .execute();
      await db.schema.createIndex("metric_hours_hour").on("metric_hours").column("hour").execute();
    },
  };
}
