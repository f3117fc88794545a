import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import SQLite from "better-sqlite3";
import { Kysely, PostgresDialect, SqliteDialect, sql } from "kysely";
import pg from "pg";
import { MsecError } from "../../core/errors.js";
import type { Engine } from "./engine.js";
import { migrate } from "./migrate.js";
import type { Db } from "./schema.js";

/**
 * The console's one store: the same tables and the same Kysely queries on both
 * engines. Code that needs the database takes a `Db` (the store or a transaction)
 * and never asks which engine it runs on, except where an engine has a feature the
 * other lacks (leases, change notifications), which lives behind this interface.
 */
export interface Store {
  readonly engine: Engine;
  readonly db: Db;
  /** Where the data lives, with no password in it (for logs). */
  readonly location: string;
  /** Run fn in one transaction: all of its writes are committed or none is. */
  transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T>;
  /** Number of applied schema migrations. */
  readonly schemaVersion: number;
  /**
   * The engine's own handle, for the rare hot path that Kysely's per-query cost would
   * throttle (metric ingest). Everything else goes through `db`.
   */
  readonly native: NativeHandle;
  close(): Promise<void>;
}

export type NativeHandle =
  | { engine: "sqlite"; database: SQLite.Database }
  | { engine: "postgres"; pool: pg.Pool };

export type StoreLocation =
  | { engine: "sqlite"; path: string }
  | { engine: "postgres"; url: string; schema: string | undefined };

/**
 * Parse `--db`: `sqlite:PATH` (relative to the working directory, or `:memory:`) or
 * `postgres://user@host:port/db?schema=NAME` (`schema` picks a PostgreSQL schema,
 * created if missing; handy to put several consoles or test runs in one database).
 */
export function parseStoreUrl(url: string): StoreLocation {
  if (url.startsWith("sqlite:")) {
    const path = url.slice("sqlite:".length).replace(/^\/\/(?=\/)/, "");
    if (path === "") throw badUrl(url, "sqlite: needs a file path, e.g. sqlite:./.msec/msec.db");
    return { engine: "sqlite", path: path === ":memory:" ? path : resolve(path) };
  }
  if (/^postgres(ql)?:\/\//.test(url)) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw badUrl(url, "not a valid URL");
    }
    const schema = parsed.searchParams.get("schema") ?? undefined;
    if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
      throw badUrl(url, "schema must be lower-case letters, digits and _");
    }
    parsed.searchParams.delete("schema");
    return { engine: "postgres", url: parsed.toString(), schema };
  }
  throw badUrl(url, "use sqlite:PATH or postgres://...");
}

function badUrl(url: string, why: string): MsecError {
  return new MsecError("invalid_argument", `bad store URL "${redact(url)}": ${why}`, {
    field: "db",
  });
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, "//$1:***@");
}

export async function openStore(url: string): Promise<Store> {
  const where = parseStoreUrl(url);
  const { db, engine, native } =
    where.engine === "sqlite"
      ? openSqlite(where.path)
      : await openPostgres(where.url, where.schema);
  try {
    const schemaVersion = await migrate(db, engine);
    return {
      engine,
      db,
      location: where.engine === "sqlite" ? `sqlite:${where.path}` : redact(url),
      schemaVersion,
      native,
      transaction: (fn) => db.transaction().execute(fn),
      close: () => db.destroy(),
    };
  } catch (e) {
    await db.destroy();
    throw e;
  }
}

function openSqlite(path: string): { db: Db; engine: Engine; native: NativeHandle } {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const database = new SQLite(path);
  // WAL lets readers run beside the writer; FULL makes each commit durable on disk
  // before it is acknowledged, so not even a power cut loses an answered write.
  database.pragma("journal_mode = WAL");
  database.pragma("synchronous = FULL");
  database.pragma("foreign_keys = ON");
  database.pragma("busy_timeout = 5000");
  return {
    db: new Kysely({ dialect: new SqliteDialect({ database }) }),
    engine: "sqlite",
    native: { engine: "sqlite", database },
  };
}

const INT8_OID = 20;

async function openPostgres(
  url: string,
  schema: string | undefined,
): Promise<{ db: Db; engine: Engine; native: NativeHandle }> {
  const pool = new pg.Pool({
    connectionString: url,
    max: 10,
    // Our int8 columns hold epoch milliseconds and ids, well inside 2^53.
    types: {
      getTypeParser: ((oid: number, format?: "text" | "binary") =>
        oid === INT8_OID
          ? Number
          : pg.types.getTypeParser(oid, format ?? "text")) as typeof pg.types.getTypeParser,
    },
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
  });
  const db: Db = new Kysely({ dialect: new PostgresDialect({ pool }) });
  try {
    if (schema) await sql`create schema if not exists ${sql.id(schema)}`.execute(db);
    else await sql`select 1`.execute(db);
  } catch (e) {
    await db.destroy();
    throw new MsecError("unavailable", `cannot reach PostgreSQL at ${redact(url)}: ${message(e)}`, {
      cause: e,
    });
  }
  return { db, engine: "postgres", native: { engine: "postgres", pool } };
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Run synchronous work on SQLite's own handle while holding Kysely's lock on the one
 * connection: a Kysely transaction open at that moment would otherwise swallow the
 * work as a savepoint (and could roll it back).
 */
export function onSqliteConnection<T>(db: Db, work: () => T): Promise<T> {
  return db.connection().execute(async () => work());
}
