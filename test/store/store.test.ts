import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import { queryAudit, recordAudit } from "../../src/console/audit/repo.js";
import {
  createSession,
  deleteExpiredSessions,
  findSession,
  SESSION_TTL_MS,
} from "../../src/console/auth/sessions.js";
import { openStore } from "../../src/console/store/index.js";
import {
  createToken,
  deleteToken,
  findTokenBySecret,
  listTokens,
} from "../../src/console/tokens/repo.js";
import {
  deleteUser,
  findUser,
  insertUser,
  listUsers,
  setUserRole,
} from "../../src/console/users/repo.js";
import { freshDatabase, TEST_ENGINES, useFreshStore } from "../support/engines.js";

// One suite, every engine: the store interface must behave the same on each.
describe.each(TEST_ENGINES)("store [%s]", (engine) => {
  const fresh = useFreshStore(engine);
  const now = 1_700_000_000_000;

  it("runs its migrations at open and reports the engine", async () => {
    expect(fresh.store.engine).toBe(engine);
    expect(fresh.store.schemaVersion).toBeGreaterThanOrEqual(1);
    const applied = await sql<{ name: string }>`select name from kysely_migration`.execute(
      fresh.store.db,
    );
    expect(applied.rows.map((r) => r.name)).toContain("0001-foundation");
  });

  it("opens again without re-running migrations and keeps the data", async () => {
    await insertUser(
      fresh.store.db,
      { username: "keep", passwordHash: "h", role: "viewer", mustChangePassword: false },
      now,
    );
    const again = await openStore(fresh.url);
    try {
      expect((await findUser(again.db, "keep"))?.role).toBe("viewer");
    } finally {
      await again.close();
    }
  });

  it("refuses a database migrated by a newer msec, and leaves it untouched", async () => {
    await sql`insert into kysely_migration (name, timestamp) values ('9999-from-the-future', '2030-01-01T00:00:00Z')`.execute(
      fresh.store.db,
    );
    try {
      await expect(openStore(fresh.url)).rejects.toThrow(/newer msec.*9999-from-the-future/);
      expect(await findUser(fresh.store.db, "keep")).toBeDefined();
    } finally {
      await sql`delete from kysely_migration where name = '9999-from-the-future'`.execute(
        fresh.store.db,
      );
    }
  });

  it("stores users, refuses a duplicate name, updates and deletes", async () => {
    const u = await insertUser(
      fresh.store.db,
      { username: "alice", passwordHash: "h1", role: "operator", mustChangePassword: true },
      now,
    );
    expect(u.id).toBeTypeOf("number");
    expect(u.must_change_password).toBe(1);
    expect(u.created_at).toBe(now);
    await expect(
      insertUser(
        fresh.store.db,
        { username: "alice", passwordHash: "h2", role: "viewer", mustChangePassword: false },
        now,
      ),
    ).rejects.toMatchObject({ code: "already_exists", field: "body.username" });
    await setUserRole(fresh.store.db, u.id, "admin", now + 1);
    expect((await findUser(fresh.store.db, "alice"))?.role).toBe("admin");
    expect((await listUsers(fresh.store.db)).map((x) => x.username)).toContain("alice");
    await deleteUser(fresh.store.db, u.id);
    expect(await findUser(fresh.store.db, "alice")).toBeUndefined();
  });

  it("commits a transaction whole or not at all", async () => {
    await expect(
      fresh.store.transaction(async (tx) => {
        await insertUser(
          tx,
          { username: "ghost", passwordHash: "h", role: "viewer", mustChangePassword: false },
          now,
        );
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    expect(await findUser(fresh.store.db, "ghost")).toBeUndefined();
  });

  it("finds sessions by secret until they expire, and cascades on user delete", async () => {
    const u = await insertUser(
      fresh.store.db,
      { username: "sess", passwordHash: "h", role: "viewer", mustChangePassword: false },
      now,
    );
    const s = await createSession(fresh.store.db, u.id, "127.0.0.1", now);
    expect((await findSession(fresh.store.db, s.secret, now + 1))?.username).toBe("sess");
    expect(await findSession(fresh.store.db, "wrong", now + 1)).toBeUndefined();
    expect(await findSession(fresh.store.db, s.secret, now + SESSION_TTL_MS)).toBeUndefined();
    await deleteExpiredSessions(fresh.store.db, now + SESSION_TTL_MS);
    const s2 = await createSession(fresh.store.db, u.id, "127.0.0.1", now);
    await deleteUser(fresh.store.db, u.id);
    expect(await findSession(fresh.store.db, s2.secret, now + 1)).toBeUndefined();
  });

  it("keeps API tokens hashed, finds them by secret, honours expiry and revocation", async () => {
    const u = await insertUser(
      fresh.store.db,
      { username: "tok", passwordHash: "h", role: "operator", mustChangePassword: false },
      now,
    );
    const { row, secret } = await createToken(
      fresh.store.db,
      { userId: u.id, name: "ci", role: "viewer", expiresAt: now + 1000 },
      now,
    );
    const stored = await fresh.store.db
      .selectFrom("api_tokens")
      .selectAll()
      .where("id", "=", row.id)
      .executeTakeFirstOrThrow();
    expect(stored.token_hash).not.toContain(secret);
    expect((await findTokenBySecret(fresh.store.db, secret, now + 10))?.token_role).toBe("viewer");
    expect(await findTokenBySecret(fresh.store.db, secret, now + 1000)).toBeUndefined();
    await expect(
      createToken(
        fresh.store.db,
        { userId: u.id, name: "ci", role: "viewer", expiresAt: null },
        now,
      ),
    ).rejects.toMatchObject({ code: "already_exists" });
    expect((await listTokens(fresh.store.db, u.id)).map((t) => t.name)).toEqual(["ci"]);
    await deleteToken(fresh.store.db, row.id);
    expect(await listTokens(fresh.store.db, u.id)).toEqual([]);
  });

  it("appends to the audit log and pages it newest first with filters", async () => {
    for (let i = 0; i < 5; i++) {
      await recordAudit(
        fresh.store.db,
        {
          actor: i % 2 ? "bob" : "carol",
          action: "thing.do",
          target: `t:${i}`,
          sourceIp: "127.0.0.1",
          outcome: "ok",
          details: { i },
        },
        now + i,
      );
    }
    const page1 = await queryAudit(fresh.store.db, { limit: 2, action: "thing.do" });
    expect(page1.map((e) => e.target)).toEqual(["t:4", "t:3"]);
    expect(page1[0]?.details).toEqual({ i: 4 });
    expect(page1[0]?.at).toBe(new Date(now + 4).toISOString());
    const page2 = await queryAudit(fresh.store.db, {
      limit: 10,
      action: "thing.do",
      before: page1[1]?.id,
    });
    expect(page2.map((e) => e.target)).toEqual(["t:2", "t:1", "t:0"]);
    const bobs = await queryAudit(fresh.store.db, { limit: 10, actor: "bob" });
    expect(bobs.map((e) => e.target)).toEqual(["t:3", "t:1"]);
  });
});

describe("store URLs", () => {
  it("rejects an unknown scheme with a clear error", async () => {
    await expect(openStore("mysql://x")).rejects.toMatchObject({
      code: "invalid_argument",
      field: "db",
    });
  });

  it("says which PostgreSQL it could not reach, without the password", async () => {
    await expect(openStore("postgres://u:secret@127.0.0.1:1/none")).rejects.toThrow(
      /cannot reach PostgreSQL at postgres:\/\/u:\*\*\*@127\.0\.0\.1:1/,
    );
  });
});

describe("store [postgres] beside other schemas", () => {
  it("migrates a fresh schema while another schema of the database holds migration tables", async () => {
    const decoy = await freshDatabase("postgres");
    const fresh = await freshDatabase("postgres");
    const decoyStore = await openStore(decoy.url);
    try {
      const store = await openStore(fresh.url);
      expect(store.schemaVersion).toBeGreaterThanOrEqual(1);
      await store.close();
    } finally {
      await decoyStore.close();
      await decoy.dispose();
      await fresh.dispose();
    }
  });
});
