import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { type Engine, openStore, type Store } from "../../src/console/store/index.js";
import { freshPgSchema } from "./pg.js";

/** A fresh, empty database of one engine, and how to throw it away. */
export interface TestDatabase {
  engine: Engine;
  url: string;
  dispose(): Promise<void>;
}

export async function freshDatabase(engine: Engine): Promise<TestDatabase> {
  if (engine === "sqlite") {
    const dir = mkdtempSync(join(tmpdir(), "msec-test-"));
    return {
      engine,
      url: `sqlite:${join(dir, "msec.db")}`,
      dispose: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const pg = await freshPgSchema();
  return { engine, url: pg.url, dispose: pg.drop };
}

/** Every engine the store suite runs against; both always run, so the output shows both. */
export const TEST_ENGINES: readonly Engine[] = ["sqlite", "postgres"];

/** A suite's fresh database of one engine, opened as a store (set before the suite's tests run). */
export interface SuiteStore {
  store: Store;
  url: string;
}

/**
 * Register the hooks that give a `describe` block its own database and open store, and
 * close and drop them afterwards. Read `.store` / `.url` inside hooks and tests.
 */
export function useFreshStore(engine: Engine): SuiteStore {
  const suite = {} as SuiteStore;
  let database: TestDatabase | undefined;
  beforeAll(async () => {
    database = await freshDatabase(engine);
    suite.url = database.url;
    suite.store = await openStore(database.url);
  });
  afterAll(async () => {
    await suite.store?.close();
    await database?.dispose();
  });
  return suite;
}
