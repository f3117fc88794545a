import { type Kysely, sql } from "kysely";
import type { Engine } from "../engine.js";

/**
 * Cheaper metric ingest (same data, nothing to convert):
 *
 * - SQLite's triggers that moved the service total `*` once per point (0003) go: ingest
 *   now moves each total once per (attribute, minute) of a batch, from JavaScript, as
 *   it already did on PostgreSQL. The totals they kept are the totals ingest keeps.
 * - The secondary index on `minute` goes on both engines. It held a copy of every
 *   point's whole key (on SQLite a WITHOUT ROWID table's index repeats the primary
 *   key) and cost about a third of each insert, for retention and the Prometheus
 *   export alone; both now walk the primary key series by series instead.
 */
export function metricIngest(engine: Engine) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      if (engine === "sqlite") {
        await sql`drop trigger if exists metric_points_total_insert`.execute(db);
        await sql`drop trigger if exists metric_points_total_update`.execute(db);
      }
      await db.schema.dropIndex("metric_points_minute").ifExists().execute();
    },
  };
}
