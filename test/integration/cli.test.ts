import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ConsoleProcess, runCli, startConsoleProcess } from "../support/console-process.js";
import { freshDatabase, type TestDatabase } from "../support/engines.js";

const ADMIN_PW = "admin-password-1";

describe("msec CLI against a real console", () => {
  let db: TestDatabase;
  let c: ConsoleProcess;
  let home: string;
  let env: Record<string, string>;
  const msec = (args: string[], input?: string) =>
    runCli(args, { env, ...(input !== undefined ? { input } : {}) });

  beforeAll(async () => {
    db = await freshDatabase("sqlite");
    c = await startConsoleProcess({ db: db.url, env: { MSEC_ADMIN_PASSWORD: ADMIN_PW } });
    home = mkdtempSync(join(tmpdir(), "msec-home-"));
    env = { MSEC_HOME: home, MSEC_CONSOLE: c.url, MSEC_TOKEN: "" };
  });
  afterAll(async () => {
    await c?.stop();
    await db?.dispose();
    rmSync(home, { recursive: true, force: true });
  });

  it("says it is not logged in, with exit code 1", async () => {
    const r = await msec(["user", "list"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/not logged in to http:\/\/127\.0\.0\.1:\d+: run `msec login`/);
  });

  it("logs in from stdin and keeps the token in a 0600 file", async () => {
    const bad = await msec(["login", "--user", "admin", "--password-stdin"], "wrong-password\n");
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/wrong username or password/);
    const r = await msec(["login", "--user", "admin", "--password-stdin"], `${ADMIN_PW}\n`);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const mode = statSync(join(home, "credentials")).mode & 0o777;
    expect(mode).toBe(0o600);
    const who = await msec(["whoami", "--json"]);
    expect(JSON.parse(who.stdout)).toMatchObject({
      username: "admin",
      role: "admin",
      via: "token",
    });
  });

  it("adds, lists, changes and removes users", async () => {
    expect(
      (
        await msec(
          ["user", "add", "olga", "--role", "operator", "--password-stdin"],
          "olga-password\n",
        )
      ).code,
    ).toBe(0);
    const list = await msec(["user", "list", "--json"]);
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout)).toContainEqual(
      expect.objectContaining({ username: "olga", role: "operator" }),
    );
    const table = await msec(["user", "list"]);
    expect(table.stdout).toMatch(/^USERNAME\s+ROLE/);
    expect((await msec(["user", "role", "olga", "--role", "viewer"])).stdout).toMatch(
      /olga is now viewer/,
    );
    expect(
      (await msec(["user", "passwd", "olga", "--password-stdin"], "olga-password-2\n")).code,
    ).toBe(0);
    expect((await msec(["user", "rm", "olga"])).code).toBe(0);
    const gone = await msec(["user", "show", "olga"]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/no user named "olga" \[not_found\]/);
  });

  it("passes the console's validation message through, exit code 1", async () => {
    const r = await msec(["user", "add", "shorty", "--password-stdin"], "short\n");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/body\.password: must be at least 8 characters/);
  });

  it("exits 2 on usage errors and 0 on --help", async () => {
    expect((await msec(["user", "add"])).code).toBe(2);
    expect((await msec(["no-such-command"])).code).toBe(2);
    expect((await msec(["user", "add", "x", "--role", "king"])).code).toBe(2);
    expect((await msec(["console", "--port", "seventy"])).code).toBe(2);
    const help = await msec(["user", "add", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--password-stdin/);
  });

  it("reads the audit log and manages tokens", async () => {
    const audit = await msec(["audit", "--json", "--action", "user.create"]);
    expect(JSON.parse(audit.stdout)).toContainEqual(
      expect.objectContaining({ target: "user:olga", actor: "admin" }),
    );
    const created = JSON.parse(
      (await msec(["token", "create", "deploy-bot", "--role", "viewer", "--json"])).stdout,
    );
    expect(created.token).toMatch(/^msec_/);
    const asBot = await runCli(["whoami", "--json"], {
      env: { ...env, MSEC_TOKEN: created.token },
    });
    expect(JSON.parse(asBot.stdout).role).toBe("viewer");
    expect((await msec(["token", "revoke", String(created.id)])).code).toBe(0);
    expect((await runCli(["whoami"], { env: { ...env, MSEC_TOKEN: created.token } })).code).toBe(1);
  });

  it("logs out: the token is revoked on the console and forgotten here", async () => {
    expect((await msec(["logout"])).code).toBe(0);
    expect((await msec(["whoami"])).code).toBe(1);
  });
});
