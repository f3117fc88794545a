import { type Kysely, sql } from "kysely";
import type { Engine } from "../engine.js";

/**
 * A time-ordered staging table for metric points, the LSM way:
 *
 * - `metric_recent` holds the same rows as `metric_points` (instances and the service
 *   totals `*`), keyed by minute first: a new minute's rows append at the right edge of
 *   the B-tree, a few pages per commit however many series a store holds. Keyed by
 *   series (as `metric_points` is), each commit into a store that already holds data
 *   rewrote one page per series.
 * - A merge (the retention runner) moves closed minutes into `metric_points` in series
 *   order, in bounded transactions. A row is in exactly one of the two tables; reads
 *   take the union.
 * - `metric_merge` holds one row: `merged_before`, the minute below which rows may be in
 *   `metric_points`. Only the merge raises it, and a write of a minute below it first
 *   moves that key's row (if any) from `metric_points` back into `metric_recent`. It
 *   starts past every minute already stored, so the rows an older msec wrote stay where
 *   they are.
 */
export function metricRecent(engine: Engine) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable("metric_recent")
        .addColumn("minute", "bigint", (c) => c.notNull())
        .addColumn("service", "text", (c) => c.notNull())
        .addColumn("attr", "text", (c) => c.notNull())
        .addColumn("instance", "text", (c) => c.notNull())
        .addColumn("value", "double precision", (c) => c.notNull())
        .addColumn("hist", "text")
        .addPrimaryKeyConstraint("metric_recent_pk", ["minute", "service", "attr", "instance"])
        .$call((t) => (engine === "sqlite" ? t.modifyEnd(sql`without rowid`) : t))
        .execute();
      await db.schema
        .createTable("metric_merge")
        .addColumn("id", "integer", (c) => c.primaryKey())
        .addColumn("merged_before", "bigint", (c) => c.notNull())
        .execute();
      // last_minute is the newest minute ever written per attribute: past every stored row.
      await sql`insert into metric_merge (id, merged_before)
        select 1, coalesce(max(last_minute), 0) + 60000 from metric_attrs`.execute(db);
    },
  };
}
