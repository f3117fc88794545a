import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient } from "../../src/runtime/index.js";
import { type ConsoleProcess, startConsoleProcess } from "../support/console-process.js";
import { freshDatabase, type TestDatabase } from "../support/engines.js";
import { call, tokenFor } from "../support/http.js";
import { type ServiceProcess, startDemo } from "../support/service-process.js";
import { load, until } from "../support/wait.js";

const ADMIN_PW = "admin-password-1";

describe("services found through the name service", () => {
  let db: TestDatabase;
  let consoleProc: ConsoleProcess;
  let token: string;
  let cacheDir: string;
  const procs: ServiceProcess[] = [];
  const env = () => ({ MSEC_CONSOLE: consoleProc.url, MSEC_TOKEN: token, MSEC_TTL_SECONDS: "3" });
  const instances = async () =>
    ((await call(consoleProc.url, "GET", "/services/Demo.Echo/instances", { token })).body
      .instances ?? []) as { addr: string }[];

  beforeAll(async () => {
    db = await freshDatabase("sqlite");
    consoleProc = await startConsoleProcess({ db: db.url, env: { MSEC_ADMIN_PASSWORD: ADMIN_PW } });
    token = await tokenFor(consoleProc.url, "admin", ADMIN_PW);
    cacheDir = mkdtempSync(join(tmpdir(), "msec-cache-"));
  });
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop().catch(() => {})));
    await consoleProc?.stop();
    await db?.dispose();
    rmSync(cacheDir, { recursive: true, force: true });
  });

  it("a starting service registers itself; a stopping one deregisters", async () => {
    const a = await startDemo("echo", env());
    procs.push(a);
    await until("registration", async () => (await instances()).some((i) => i.addr === a.addr));
    await a.stop();
    await until("deregistration", async () => !(await instances()).some((i) => i.addr === a.addr));
  });

  it("routes by name, loses no idempotent call when an instance dies by SIGKILL", async () => {
    const three = await Promise.all([
      startDemo("echo", env()),
      startDemo("echo", env()),
      startDemo("echo", env()),
    ]);
    procs.push(...three);
    await until("three instances", async () => (await instances()).length === 3);
    const client = createClient("Demo.Echo", { console: consoleProc.url, token, cacheDir });
    const seen = new Set<string>();
    for (let i = 0; i < 60; i++)
      seen.add(
        (await client.call<{ servedBy: string }>("Echo", {}, { idempotent: true })).servedBy,
      );
    expect(seen.size).toBe(3);

    const victim = three[0] as ServiceProcess;
    setTimeout(() => void victim.kill(), 500);
    const r = await load(2500, 10, () => client.call("Echo", { text: "x" }, { idempotent: true }));
    client.close();
    expect(r.errors).toEqual([]);
    expect(r.ok).toBeGreaterThan(200);
  });

  it("drains on graceful stop: not one failed call, even non-idempotent", async () => {
    await until("two live instances", async () => (await instances()).length >= 2);
    const client = createClient("Demo.Echo", { console: consoleProc.url, token, cacheDir });
    await client.call("Echo", {});
    const leaving = procs.find(
      (p) => p.proc.exitCode === null && p.proc.signalCode === null,
    ) as ServiceProcess;
    setTimeout(() => void leaving.stop(), 300);
    // Not idempotent: a call that failed could not be retried.
    const r = await load(3000, 10, () => client.call("Echo", { text: "x", delayMs: 2 }));
    client.close();
    expect(r.errors).toEqual([]);
    expect(r.ok).toBeGreaterThan(200);
  });

  it("propagates the caller's deadline to the next hop", async () => {
    const slowEcho = await startDemo("echo", { ...env(), DEMO_ECHO_DELAY_MS: "400" });
    const login = await startDemo("login", env());
    procs.push(slowEcho, login);
    // Only the slow instance is left for Login to call.
    for (const p of procs.filter((p) => p !== slowEcho && p !== login))
      await p.stop().catch(() => {});
    await until("only the slow echo", async () => {
      const list = await instances();
      return list.length === 1 && list[0]?.addr === slowEcho.addr;
    });
    const client = createClient("Demo.Login", { console: consoleProc.url, token, cacheDir });
    const started = Date.now();
    await expect(
      client.call(
        "msec.demo.v1.LoginService/Login",
        { user: "u", password: "pass" },
        { timeoutMs: 150 },
      ),
    ).rejects.toMatchObject({
      code: "deadline_exceeded",
    });
    expect(Date.now() - started).toBeLessThan(400);
    client.close();
    // Echo saw the inherited deadline (about 150 ms), not Login's own 1000 ms.
    await new Promise((r) => setTimeout(r, 300));
    const metrics = await (await fetch(`http://${slowEcho.addr}/metrics`)).text();
    expect(metrics).toMatch(
      /msec_rpc_server_calls_total\{[^}]*method="msec\.demo\.v1\.EchoService\/Echo"[^}]*code="deadline_exceeded"\} 1/,
    );
  });

  it("a client that starts while the console is down routes from its cache", async () => {
    const echo = await startDemo("echo", env());
    procs.push(echo);
    await until("the new echo", async () => (await instances()).some((i) => i.addr === echo.addr));
    const warm = createClient("Demo.Echo", { console: consoleProc.url, token, cacheDir });
    await until(
      "the cache to hold the new echo",
      async () =>
        (await warm.call<{ servedBy: string }>("Echo", {})).servedBy === echo.addr || true,
    );
    await new Promise((r) => setTimeout(r, 300));
    warm.close();

    await consoleProc.stop();
    const cold = createClient("Demo.Echo", {
      console: consoleProc.url,
      token,
      cacheDir,
      timeoutMs: 2000,
    });
    const reply = await cold.call<{ text: string }>(
      "Echo",
      { text: "console is down" },
      { idempotent: true },
    );
    expect(reply.text).toBe("console is down");
    cold.close();
    consoleProc = await startConsoleProcess({ db: db.url });
  });
});
