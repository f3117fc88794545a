import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ConsoleProcess, startConsoleProcess } from "../support/console-process.js";
import { freshDatabase, TEST_ENGINES, type TestDatabase } from "../support/engines.js";
import { call, login, tokenFor, userToken } from "../support/http.js";

const ADMIN_PW = "admin-password-1";

describe.each(TEST_ENGINES)("console API [%s]", (engine) => {
  let db: TestDatabase;
  let c: ConsoleProcess;
  let admin: string;
  let viewer: string;

  beforeAll(async () => {
    db = await freshDatabase(engine);
    c = await startConsoleProcess({ db: db.url, env: { MSEC_ADMIN_PASSWORD: ADMIN_PW } });
    admin = await tokenFor(c.url, "admin", ADMIN_PW);
    viewer = await userToken(c.url, admin, "vera", "viewer");
  });
  afterAll(async () => {
    await c?.stop();
    await db?.dispose();
  });

  it("answers health and version without a login", async () => {
    const h = await call(c.url, "GET", "/health");
    expect(h.status).toBe(200);
    expect(h.body).toMatchObject({ status: "ok", store: engine });
    const v = await call(c.url, "GET", "/version");
    expect(v.body.schema).toBeGreaterThanOrEqual(1);
  });

  it("refuses a wrong password with 401 and the one error shape", async () => {
    const r = await call(c.url, "POST", "/auth/login", {
      body: { username: "admin", password: "nope-nope" },
    });
    expect(r.status).toBe(401);
    expect(r.body).toEqual({
      error: { code: "unauthenticated", message: "wrong username or password" },
    });
  });

  it("refuses protected routes without credentials (401) and with a bad token (401)", async () => {
    expect((await call(c.url, "GET", "/users")).status).toBe(401);
    const bad = await call(c.url, "GET", "/users", { token: "msec_forged" });
    expect(bad.status).toBe(401);
    expect(bad.body.error.message).toMatch(/unknown, revoked or expired/);
  });

  it("refuses a viewer on a mutating endpoint with 403", async () => {
    const r = await call(c.url, "POST", "/users", {
      token: viewer,
      body: { username: "mallory", password: "12345678", role: "admin" },
    });
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe("permission_denied");
    expect(r.body.error.message).toMatch(/needs the admin role; vera is viewer/);
    expect((await call(c.url, "GET", "/users/mallory", { token: admin })).status).toBe(404);
  });

  it("refuses a browser-style change without the CSRF token (403), accepts it with", async () => {
    const s = await login(c.url, "admin", ADMIN_PW);
    const body = { username: "csrfuser", password: "12345678" };
    const without = await call(c.url, "POST", "/users", { cookie: s.cookie, body });
    expect(without.status).toBe(403);
    expect(without.body.error.message).toMatch(/X-CSRF-Token/);
    const wrong = await call(c.url, "POST", "/users", { cookie: s.cookie, csrf: "forged", body });
    expect(wrong.status).toBe(403);
    const right = await call(c.url, "POST", "/users", { cookie: s.cookie, csrf: s.csrf, body });
    expect(right.status).toBe(201);
    // Reads need no CSRF token.
    expect((await call(c.url, "GET", "/users", { cookie: s.cookie })).status).toBe(200);
  });

  it("sets the session cookie HttpOnly and SameSite=Strict", async () => {
    const r = await call(c.url, "POST", "/auth/login", {
      body: { username: "admin", password: ADMIN_PW },
    });
    const cookie = r.headers.get("set-cookie") ?? "";
    expect(cookie).toMatch(/^msec_session=/);
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
    expect(r.body.csrfToken).toBeTypeOf("string");
  });

  it("answers malformed JSON with 400 naming the body", async () => {
    const r = await call(c.url, "POST", "/users", { token: admin, rawBody: '{"username": "x",' });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ code: "invalid_argument", field: "body" });
  });

  it("answers a wrong field with 400 naming the field", async () => {
    const role = await call(c.url, "POST", "/users", {
      token: admin,
      body: { username: "zed", password: "12345678", role: "superuser" },
    });
    expect(role.status).toBe(400);
    expect(role.body.error.field).toBe("body.role");
    expect(role.body.error.message).toMatch(/^body\.role: /);
    const missing = await call(c.url, "POST", "/users", {
      token: admin,
      body: { username: "zed" },
    });
    expect(missing.body.error).toMatchObject({
      field: "body.password",
      message: "body.password: is required",
    });
    const name = await call(c.url, "POST", "/users", {
      token: admin,
      body: { username: "Bad Name!", password: "12345678" },
    });
    expect(name.body.error.field).toBe("body.username");
    const query = await call(c.url, "GET", "/audit?limit=0", { token: admin });
    expect(query.status).toBe(400);
    expect(query.body.error.field).toBe("query.limit");
    const media = await call(c.url, "POST", "/users", {
      token: admin,
      rawBody: "username=x",
      contentType: "application/x-www-form-urlencoded",
    });
    expect(media.status).toBe(415);
  });

  it("answers an unknown route with 404 in the same shape", async () => {
    const r = await call(c.url, "GET", "/nothing-here", { token: admin });
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe("not_found");
  });

  it("rate-limits logins: the 6th try in a minute gets 429, even with the right password", async () => {
    await call(c.url, "POST", "/users", {
      token: admin,
      body: { username: "target", password: "target-password" },
    });
    for (let i = 0; i < 5; i++) {
      const r = await call(c.url, "POST", "/auth/login", {
        body: { username: "target", password: `wrong-${i}` },
      });
      expect(r.status).toBe(401);
    }
    const sixth = await call(c.url, "POST", "/auth/login", {
      body: { username: "target", password: "target-password" },
    });
    expect(sixth.status).toBe(429);
    expect(sixth.body.error.code).toBe("resource_exhausted");
    expect(Number(sixth.headers.get("retry-after"))).toBeGreaterThan(0);
  });

  it("never leaves the console without an admin", async () => {
    const r = await call(c.url, "DELETE", "/users/admin", { token: admin });
    expect(r.status).toBe(412);
    expect(r.body.error.message).toMatch(/last admin/);
    const demote = await call(c.url, "PATCH", "/users/admin", {
      token: admin,
      body: { role: "viewer" },
    });
    expect(demote.status).toBe(412);
  });

  it("lets a token narrow its role but never widen it", async () => {
    const t = await call(c.url, "POST", "/tokens", {
      token: viewer,
      body: { name: "wide", role: "admin" },
    });
    expect(t.status).toBe(403);
    expect(t.body.error).toMatchObject({
      field: "body.role",
      message: "cannot make a admin token: you act as viewer",
    });
    const narrow = await call(c.url, "POST", "/tokens", {
      token: admin,
      body: { name: "narrow", role: "viewer" },
    });
    const denied = await call(c.url, "GET", "/users", { token: narrow.body.token });
    expect(denied.status).toBe(403);
    // A short-lived token cannot mint a longer-lived one.
    const short = await call(c.url, "POST", "/tokens", {
      token: admin,
      body: { name: "short", expiresInDays: 1 },
    });
    const child = await call(c.url, "POST", "/tokens", {
      token: short.body.token,
      body: { name: "child" },
    });
    expect(child.body.expiresAt).toBe(short.body.expiresAt);
    await call(c.url, "DELETE", `/tokens/${narrow.body.id}`, { token: admin });
    expect((await call(c.url, "GET", "/auth/session", { token: narrow.body.token })).status).toBe(
      401,
    );
  });

  it("changes a password: self needs the current one, old sessions end", async () => {
    await call(c.url, "POST", "/users", {
      token: admin,
      body: { username: "pat", password: "pat-password-1" },
    });
    const s = await login(c.url, "pat", "pat-password-1");
    const noCurrent = await call(c.url, "PUT", "/users/pat/password", {
      cookie: s.cookie,
      csrf: s.csrf,
      body: { password: "pat-password-2" },
    });
    expect(noCurrent.body.error?.field).toBe("body.currentPassword");
    const other = await login(c.url, "pat", "pat-password-1");
    const ok = await call(c.url, "PUT", "/users/pat/password", {
      cookie: s.cookie,
      csrf: s.csrf,
      body: { password: "pat-password-2", currentPassword: "pat-password-1" },
    });
    expect(ok.status).toBe(204);
    expect((await call(c.url, "GET", "/auth/session", { cookie: s.cookie })).status).toBe(200);
    expect((await call(c.url, "GET", "/auth/session", { cookie: other.cookie })).status).toBe(401);
    expect(
      (
        await call(c.url, "POST", "/auth/login", {
          body: { username: "pat", password: "pat-password-2" },
        })
      ).status,
    ).toBe(200);
    // A viewer cannot set someone else's password.
    const steal = await call(c.url, "PUT", "/users/admin/password", {
      token: viewer,
      body: { password: "stolen-password" },
    });
    expect(steal.status).toBe(403);
  });

  it("audits every change: who, what, from where, and failed logins", async () => {
    const r = await call(c.url, "GET", "/audit?limit=500", { token: admin });
    expect(r.status).toBe(200);
    const entries = r.body.entries as {
      actor: string;
      action: string;
      target: string;
      outcome: string;
      sourceIp: string;
      details: object;
    }[];
    expect(entries).toContainEqual(
      expect.objectContaining({
        actor: "admin",
        action: "user.create",
        target: "user:vera",
        outcome: "ok",
        sourceIp: "127.0.0.1",
      }),
    );
    expect(entries).toContainEqual(
      expect.objectContaining({ action: "auth.login", target: "user:admin", outcome: "failed" }),
    );
    expect(entries).toContainEqual(
      expect.objectContaining({ action: "auth.login", target: "user:target", outcome: "denied" }),
    );
    expect(entries).toContainEqual(
      expect.objectContaining({ actor: "pat", action: "user.password", target: "user:pat" }),
    );
    expect((await call(c.url, "GET", "/audit", { token: viewer })).status).toBe(403);
    // Refused changes are security events too.
    expect(entries).toContainEqual(
      expect.objectContaining({ actor: "vera", action: "POST /api/v1/users", outcome: "denied" }),
    );
    expect(entries).toContainEqual(
      expect.objectContaining({
        actor: "admin",
        outcome: "denied",
        details: expect.objectContaining({ reason: "missing or wrong CSRF token" }),
      }),
    );
  });

  it("serves public routes whatever Authorization header comes along", async () => {
    const res = await fetch(`${c.url}/api/v1/health`, {
      headers: { authorization: "Basic dXNlcjpwdw==" },
    });
    expect(res.status).toBe(200);
  });

  it("ends a browser session at logout", async () => {
    const s = await login(c.url, "admin", ADMIN_PW);
    expect(
      (await call(c.url, "POST", "/auth/logout", { cookie: s.cookie, csrf: s.csrf })).status,
    ).toBe(204);
    expect((await call(c.url, "GET", "/auth/session", { cookie: s.cookie })).status).toBe(401);
  });
});
