import type { CreateTableBuilder } from "kysely";
import type { Engine } from "../engine.js";

/** An auto-numbered `id` primary key, spelled the way each engine wants it. */
export function idColumn<T extends string>(
  engine: Engine,
  table: CreateTableBuilder<T, never>,
): CreateTableBuilder<T, "id"> {
  return engine === "postgres"
    ? table.addColumn("id", "bigserial", (c) => c.primaryKey())
    : table.addColumn("id", "integer", (c) => c.primaryKey().autoIncrement());
}
