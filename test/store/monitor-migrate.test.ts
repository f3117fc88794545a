import SQLite from "better-sqlite3";
import {
  Kysely,
  Migrator,
  PostgresDialect,
  type QueryExecutorProvider,
  SqliteDialect,
  sql,
} from "kysely";
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { readMinutes, writeBatches } from "../../src/console/monitor/points.js";
import { type Engine, openStore, parseStoreUrl } from "../../src/console/store/index.js";
import { migrations } from "../../src/console/store/migrations/index.js";
import { freshDatabase, TEST_ENGINES, type TestDatabase } from "../support/engines.js";

const M = 28_000_000 * 60_000;
const SVC = "Shop.Cart";

/** A database migrated only up to `last`, as an older msec left it. */
async function databaseAt(t: TestDatabase, last: string): Promise<Kysely<unknown>> {
  const where = parseStoreUrl(t.url);
  let db: Kysely<unknown>;
  if (where.engine === "sqlite") {
    const database = new SQLite(where.path);
    database.pragma("journal_mode = WAL");
    db = new Kysely({ dialect: new SqliteDialect({ database }) });
  } else {
    const schema = where.schema as string;
    const pool = new pg.Pool({ connectionString: where.url, options: `-c search_path=${schema}` });
    db = new Kysely({ dialect: new PostgresDialect({ pool }) });
    await sql`create schema if not exists ${sql.id(schema)}`.execute(db);
  }
  const known = migrations(t.engine);
  const older = Object.fromEntries(Object.entries(known).filter(([name]) => name <= last));
  const { error } = await new Migrator({
    db,
    provider: { getMigrations: async () => older },
    ...(where.engine === "postgres" ? { migrationTableSchema: where.schema as string } : {}),
  }).migrateToLatest();
  if (error) throw error;
  return db;
}

async function minuteIndexExists(db: QueryExecutorProvider, engine: Engine): Promise<boolean> {
  const { rows } =
    engine === "sqlite"
      ? await sql`select name from sqlite_master where name = 'metric_points_minute'`.execute(db)
      : await sql`select indexname from pg_indexes
          where schemaname = current_schema() and indexname = 'metric_points_minute'`.execute(db);
  return rows.length > 0;
}

describe.each(TEST_ENGINES)("migration 0008 of metric points [%s]", (engine) => {
  let t: TestDatabase | undefined;
  afterEach(async () => {
    await t?.dispose();
  });

  it("keeps the points and totals an older msec wrote, and ingest keeps them exact", async () => {
    t = await freshDatabase(engine);
    const before = await databaseAt(t, "0007-machines-releases");
    expect(await minuteIndexExists(before, engine)).toBe(true);
    // As 0003's ingest left them: instance rows, and totals (SQLite's triggers kept them).
    for (const [instance, value] of [
      ["10.0.0.1:80", 3],
      ["10.0.0.2:80", 4],
    ] as const) {
      await sql`insert into metric_points (service, attr, instance, minute, value, hist)
        values (${SVC}, 'orders', ${instance}, ${M}, ${value}, null)`.execute(before);
    }
    if (engine === "postgres") {
      await sql`insert into metric_points (service, attr, instance, minute, value, hist)
        values (${SVC}, 'orders', '*', ${M}, 7, null)`.execute(before);
    }
    await sql`insert into metric_attrs (service, attr, kind, first_minute, last_minute)
      values (${SVC}, 'orders', 'counter', ${M}, ${M})`.execute(before);
    await before.destroy();

    const store = await openStore(t.url);
    try {
      expect(await minuteIndexExists(store.db, engine)).toBe(false);
      if (engine === "sqlite") {
        const { rows } =
          await sql`select name from sqlite_master where type = 'trigger' and tbl_name = 'metric_points'`.execute(
            store.db,
          );
        expect(rows).toEqual([]);
      }
      const read = (instance: string) =>
        readMinutes(store.db, { service: SVC, attr: "orders", instance, from: M, to: M + 60_000 });
      expect((await read("*")).map((p) => p.value)).toEqual([7]);
      // A resend of the old minute and a new minute, after the upgrade.
      await writeBatches(store, [
        {
          service: SVC,
          instance: "10.0.0.1:80",
          minutes: [
            { minute: M, points: [{ attr: "orders", kind: "counter", value: 10 }] },
            { minute: M + 60_000, points: [{ attr: "orders", kind: "counter", value: 1 }] },
          ],
        },
        {
          service: SVC,
          instance: "10.0.0.2:80",
          minutes: [
            { minute: M + 60_000, points: [{ attr: "orders", kind: "counter", value: 2 }] },
          ],
        },
      ]);
      expect((await read("*")).map((p) => p.value)).toEqual([14, 3]);
    } finally {
      await store.close();
    }
  });
});
