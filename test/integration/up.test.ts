import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli, startConsoleProcess } from "../support/console-process.js";
import { call, login } from "../support/http.js";

describe("msec up", () => {
  const dir = mkdtempSync(join(tmpdir(), "msec-up-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("prints a generated admin password once; it works, and survives a restart", async () => {
    const env = { MSEC_ADMIN_PASSWORD: "" };
    const first = await startConsoleProcess({
      command: "up",
      db: "sqlite:.msec/msec.db",
      cwd: dir,
      env,
      args: ["--demo-port", "0"],
    });
    const password = (await first.waitForOutput(/^admin password: (\S+)$/m))[1];
    expect(password).toMatch(/^[A-Za-z2-9]{20}$/);
    expect((await call(first.url, "GET", "/health")).status).toBe(200);

    // The demo services run, registered in the name service; Login calls Echo through it.
    const loginAddr = (await first.waitForOutput(/^service: Demo\.Login at (\S+)$/m))[1];
    await first.waitForOutput(/Press Ctrl-C/);
    const reply = await fetch(`http://${loginAddr}/msec.demo.v1.LoginService/Login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ user: "vip-ann", password: "secret" }),
    });
    expect(await reply.json()).toEqual({ ok: true, greeting: "welcome, vip-ann" });
    const s = await login(first.url, "admin", password ?? "");
    const session = await call(first.url, "GET", "/auth/session", { cookie: s.cookie });
    expect(session.body).toMatchObject({
      username: "admin",
      role: "admin",
      mustChangePassword: true,
    });
    const services = await call(first.url, "GET", "/services", { cookie: s.cookie });
    expect(services.body.services).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: "Demo.Echo", instances: 1 }),
        expect.objectContaining({ name: "Demo.Login", instances: 1 }),
      ]),
    );
    // They were deployed as production does it: a local agent, packages, release plans.
    const machines = await call(first.url, "GET", "/machines", { cookie: s.cookie });
    expect(machines.body.machines).toEqual([
      expect.objectContaining({ name: "local", online: true }),
    ]);
    const plans = await call(first.url, "GET", "/releases", { cookie: s.cookie });
    expect(plans.body.releases.map((r: { state: string }) => r.state)).toEqual([
      "succeeded",
      "succeeded",
    ]);
    expect(await first.stop()).toBe(0);

    // A restart brings the services back from the agent's state: no new upload, no new plan.
    const second = await startConsoleProcess({
      command: "up",
      db: "sqlite:.msec/msec.db",
      cwd: dir,
      env,
      args: ["--demo-port", "0"],
    });
    try {
      await second.waitForOutput(/^service: Demo\.Login at \S+$/m);
      await second.waitForOutput(/Press Ctrl-C to stop/);
      expect(second.stdout()).not.toMatch(/admin password/);
      const again = await login(second.url, "admin", password ?? "");
      const plansAgain = await call(second.url, "GET", "/releases", { cookie: again.cookie });
      expect(plansAgain.body.releases).toHaveLength(2);
    } finally {
      expect(await second.stop()).toBe(0);
    }
  });
});

describe("msec recover-admin", () => {
  const dir = mkdtempSync(join(tmpdir(), "msec-recover-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("sets a new admin password in the store and prints it once", async () => {
    const db = `sqlite:${join(dir, "msec.db")}`;
    const c = await startConsoleProcess({ db, env: { MSEC_ADMIN_PASSWORD: "original-password" } });
    await c.stop();
    const r = await runCli(["recover-admin", "--db", db], { env: { MSEC_ADMIN_PASSWORD: "" } });
    expect(r.code).toBe(0);
    const password = /^admin password: (\S+)$/m.exec(r.stdout)?.[1] ?? "";
    expect(password).toMatch(/^[A-Za-z2-9]{20}$/);
    const again = await startConsoleProcess({ db });
    try {
      expect(
        (
          await call(again.url, "POST", "/auth/login", {
            body: { username: "admin", password: "original-password" },
          })
        ).status,
      ).toBe(401);
      await login(again.url, "admin", password);
    } finally {
      await again.stop();
    }
  });
});
