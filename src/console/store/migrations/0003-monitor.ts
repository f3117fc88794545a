import { type Kysely, sql } from "kysely";
import type { Engine } from "../engine.js";

/**
 * Per-minute points. One row per (service, attribute, instance, minute); the service
 * total is the instance `*`, kept up to date at ingest so that a chart of the total
 * reads 1440 rows a day whatever the number of instances. A week of one attribute is
 * one index range scan of 10,080 rows.
 */
export function monitor(engine: Engine) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable("metric_points")
        .addColumn("service", "text", (c) => c.notNull())
        .addColumn("attr", "text", (c) => c.notNull())
        .addColumn("instance", "text", (c) => c.notNull())
        .addColumn("minute", "bigint", (c) => c.notNull())
        .addColumn("value", "double precision", (c) => c.notNull())
        .addColumn("hist", "text")
        .addPrimaryKeyConstraint("metric_points_pk", ["service", "attr", "instance", "minute"])
        // On SQLite the key is the table (no rowid and no second B-tree): one write per point.
        .$call((t) => (engine === "sqlite" ? t.modifyEnd(sql`without rowid`) : t))
        .execute();
      await db.schema
        .createIndex("metric_points_minute")
        .on("metric_points")
        .column("minute")
        .execute();

      if (engine === "sqlite") {
        // SQLite keeps the service totals itself: each plain point written for an
        // instance moves the total by what it adds or changes, inside the same statement
        // (no read and second write from JavaScript per point). Histograms are merged in JS.
        await sql`create trigger metric_points_total_insert after insert on metric_points
          when new.instance <> '*' and new.hist is null
          begin
            insert into metric_points (service, attr, instance, minute, value, hist)
            values (new.service, new.attr, '*', new.minute, new.value, null)
            on conflict (service, attr, instance, minute) do update set value = metric_points.value + excluded.value;
          end`.execute(db);
        await sql`create trigger metric_points_total_update after update of value on metric_points
          when new.instance <> '*' and new.hist is null
          begin
            update metric_points set value = value + new.value - old.value
            where service = new.service and attr = new.attr and instance = '*' and minute = new.minute;
          end`.execute(db);
      }

      await db.schema
        .createTable("metric_attrs")
        .addColumn("service", "text", (c) => c.notNull())
        .addColumn("attr", "text", (c) => c.notNull())
        .addColumn("kind", "text", (c) => c.notNull())
        .addColumn("first_minute", "bigint", (c) => c.notNull())
        .addColumn("last_minute", "bigint", (c) => c.notNull())
        .addPrimaryKeyConstraint("metric_attrs_pk", ["service", "attr"])
        .execute();
    },
  };
}
