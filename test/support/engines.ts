import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Engine } from "../../src/console/store/index.js";
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
