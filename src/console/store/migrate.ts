import { Migrator, sql } from "kysely";
import { MsecError } from "../../core/errors.js";
import type { Engine } from "./engine.js";
import { migrations } from "./migrations/index.js";
import type { Db } from "./schema.js";

/**
 * Bring the database up to the code's schema, refusing a database that a newer
 * msec has migrated past what this code knows. Returns the applied count.
 * On PostgreSQL, Kysely holds an advisory lock while migrating, so replicas that
 * start together migrate once.
 */
export async function migrate(db: Db, engine: Engine): Promise<number> {
  const known = migrations(engine);
  const applied = await appliedMigrations(db);
  const unknown = applied.filter((name) => !(name in known));
  if (unknown.length > 0) {
    const newest = Object.keys(known).at(-1);
    throw new MsecError(
      "failed_precondition",
      `the database was migrated by a newer msec (it has schema ${unknown.join(", ")}; ` +
        `this msec knows up to ${newest}). Upgrade msec, or point --db at another database.`,
    );
  }
  // Kysely looks for its own tables in every schema of the database; name ours, or a
  // neighbour's migration tables (another console or test run in the same database)
  // would be taken for ours.
  const schema =
    engine === "postgres"
      ? (await sql<{ s: string }>`select current_schema() as s`.execute(db)).rows[0]?.s
      : undefined;
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => known },
    ...(schema ? { migrationTableSchema: schema } : {}),
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === "Error")?.migrationName ?? "?";
    throw new MsecError("internal", `schema migration ${failed} failed: ${String(error)}`, {
      cause: error,
    });
  }
  return Object.keys(known).length;
}

async function appliedMigrations(db: Db): Promise<string[]> {
  try {
    const rows = await sql<{ name: string }>`select name from kysely_migration`.execute(db);
    return rows.rows.map((r) => r.name);
  } catch (e) {
    // A fresh database has no migration table yet; anything else is a real fault.
    if (/no such table|does not exist/.test(String(e))) return [];
    throw e;
  }
}
