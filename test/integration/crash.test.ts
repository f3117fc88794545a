import { afterAll, describe, expect, it } from "vitest";
import { startConsoleProcess } from "../support/console-process.js";
import { freshDatabase, TEST_ENGINES, type TestDatabase } from "../support/engines.js";
import { call, tokenFor } from "../support/http.js";

const ADMIN_PW = "admin-password-1";

describe.each(TEST_ENGINES)("crash safety [%s]", (engine) => {
  let db: TestDatabase;
  afterAll(async () => {
    await db?.dispose();
  });

  it("SIGKILL in the middle of writes loses no acknowledged row", async () => {
    db = await freshDatabase(engine);
    const first = await startConsoleProcess({ db: db.url, env: { MSEC_ADMIN_PASSWORD: ADMIN_PW } });
    const admin = await tokenFor(first.url, "admin", ADMIN_PW);

    // Eight writers create tokens (a token row and its audit row in one transaction)
    // as fast as they can; we kill the console while they are at it.
    const acknowledged: string[] = [];
    let killed = false;
    const writer = async (w: number) => {
      for (let i = 0; !killed; i++) {
        const name = `w${w}-${i}`;
        try {
          const r = await call(first.url, "POST", "/tokens", { token: admin, body: { name } });
          if (r.status === 201) acknowledged.push(name);
        } catch {
          return; // connection dropped by the kill: this write was never acknowledged
        }
      }
    };
    const writers = Array.from({ length: 8 }, (_, w) => writer(w));
    while (acknowledged.length < 150) await new Promise((r) => setTimeout(r, 10));
    killed = true;
    await first.kill();
    await Promise.all(writers);

    const second = await startConsoleProcess({ db: db.url });
    try {
      const tokens = await call(second.url, "GET", "/tokens", { token: admin });
      expect(tokens.status).toBe(200);
      const stored = new Set((tokens.body.tokens as { name: string }[]).map((t) => t.name));
      const lost = acknowledged.filter((name) => !stored.has(name));
      expect(lost).toEqual([]);
      // Each token and its audit entry were one transaction: never one without the other.
      const audit = await call(second.url, "GET", "/audit?action=token.create&limit=1000", {
        token: admin,
      });
      expect(audit.body.entries.length).toBe(stored.size);
    } finally {
      await second.stop();
    }
  });
});
