import type { Kysely } from "kysely";
import type { Engine } from "../engine.js";
import { idColumn } from "./columns.js";

/**
 * The artifact store: every upload is an immutable version numbered 1, 2, 3… per
 * (service, kind). The bytes live in the row (`bytea` on PostgreSQL, `blob` on
 * SQLite); the unique constraint settles two uploads racing for the same number.
 */
export function artifacts(engine: Engine) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await idColumn(engine, db.schema.createTable("artifacts"))
        .addColumn("service", "text", (c) => c.notNull())
        .addColumn("kind", "text", (c) => c.notNull())
        .addColumn("version", "integer", (c) => c.notNull())
        .addColumn("sha256", "text", (c) => c.notNull())
        .addColumn("size", "bigint", (c) => c.notNull())
        .addColumn("signature", "text", (c) => c.notNull())
        .addColumn("uploaded_by", "text", (c) => c.notNull())
        .addColumn("uploaded_at", "bigint", (c) => c.notNull())
        .addColumn("note", "text", (c) => c.notNull())
        .addColumn("name", "text")
        .addColumn("content", engine === "postgres" ? "bytea" : "blob", (c) => c.notNull())
        .addUniqueConstraint("artifacts_version", ["service", "kind", "version"])
        .execute();
    },
  };
}
