import { sql } from "kysely";
import type { Db } from "../store/schema.js";

/**
 * Every instance of (service, attr) in a table, the total `*` included, in key order:
 * a skip scan of the primary key (one index seek per instance, however many minutes
 * each holds), spelled as a recursive query since neither engine skips on its own.
 *
 * Retention, the Prometheus export and top instances walk series this way; there is
 * no index on `minute` to find a minute's rows across series (migration 0008).
 */
export async function seriesInstances(
  db: Db,
  table: "metric_points" | "metric_hours",
  service: string,
  attr: string,
): Promise<string[]> {
  const t = sql.table(table);
  const { rows } = await sql<{ i: string | null }>`with recursive inst(i) as (
      select min(instance) from ${t} where service = ${service} and attr = ${attr}
      union all
      select (select min(instance) from ${t}
              where service = ${service} and attr = ${attr} and instance > inst.i)
      from inst where inst.i is not null
    )
    select i from inst where i is not null`.execute(db);
  return rows.flatMap((r) => (r.i === null ? [] : [r.i]));
}

/** Instances per `instance in (...)` list: far below both engines' bound-parameter limits. */
export const INSTANCES_PER_QUERY = 500;
