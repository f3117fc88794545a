import { randomBytes } from "node:crypto";
import pg from "pg";

/** The PostgreSQL server for tests: MSEC_TEST_PG_URL, else the local server's `test` database. */
export const TEST_PG_URL =
  process.env.MSEC_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";

/**
 * A schema of its own for one test (so runs side by side never collide), as a store URL
 * with `?schema=`; `drop()` removes it with everything in it.
 */
export async function freshPgSchema(): Promise<{
  url: string;
  schema: string;
  drop(): Promise<void>;
}> {
  const schema = `msec_t_${randomBytes(6).toString("hex")}`;
  const url = new URL(TEST_PG_URL);
  url.searchParams.set("schema", schema);
  return {
    url: url.toString(),
    schema,
    drop: async () => {
      const client = new pg.Client({ connectionString: TEST_PG_URL });
      await client.connect();
      try {
        await client.query(`drop schema if exists "${schema}" cascade`);
      } finally {
        await client.end();
      }
    },
  };
}
