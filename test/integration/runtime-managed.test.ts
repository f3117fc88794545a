import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient } from "../../src/runtime/index.js";
import { type ConsoleProcess, startConsoleProcess } from "../support/console-process.js";
import { freshDatabase, type TestDatabase } from "../support/engines.js";
import { call, tokenFor } from "../support/http.js";
import { startWatched, type WatchedProcess } from "../support/process.js";
import { startDemo } from "../support/service-process.js";

const ADMIN_PW = "admin-password-1";
const RUNTIME = new URL("../../dist/runtime/index.js", import.meta.url).href;

/** A service that reads config and listens for changes, with no SIGTERM handler of its own. */
const CONFIG_SERVICE = `
import { config, createServer } from ${JSON.stringify(RUNTIME)};
const server = createServer({ service: "Demo.Conf", port: 0 });
let changes = [];
config.onChange(async (names) => {
  await new Promise((r) => setTimeout(r, 50));
  changes.push(names);
});
server.json("Get", (req) => ({ text: config.get(req.name) ?? null, json: req.json ? config.json(req.name) : null, changes }));
server.json("Slow", async () => { await new Promise((r) => setTimeout(r, 500)); return { done: true }; });
await server.listen();
process.stdout.write("Demo.Conf listening on " + server.addr + "\\n");
`;

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** What the agent does on a config change: a new set, then an atomic switch of the link. */
function switchConfig(root: string, set: string, files: Record<string, string>): void {
  const dir = join(root, "configs", set);
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const tmp = join(root, `config.tmp-${set}`);
  symlinkSync(join("configs", set), tmp);
  renameSync(tmp, join(root, "config"));
}

function control(addr: string, key?: string) {
  return fetch(`http://${addr}/_msec/config`, {
    method: "POST",
    headers: key === undefined ? {} : { "x-msec-control-key": key },
  });
}

describe("a process run by an agent (MSEC_MANAGED=1)", () => {
  let db: TestDatabase;
  let consoleProc: ConsoleProcess;
  let token: string;
  let root: string;
  const procs: WatchedProcess[] = [];
  let confService: WatchedProcess | undefined;

  beforeAll(async () => {
    db = await freshDatabase("sqlite");
    consoleProc = await startConsoleProcess({ db: db.url, env: { MSEC_ADMIN_PASSWORD: ADMIN_PW } });
    token = await tokenFor(consoleProc.url, "admin", ADMIN_PW);
    root = mkdtempSync(join(tmpdir(), "msec-managed-"));
    writeFileSync(join(root, "conf-service.mjs"), CONFIG_SERVICE);
  });
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop().catch(() => {})));
    await consoleProc?.stop();
    await db?.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  it("listens on MSEC_HOST:MSEC_PORT, answers its health check, and leaves registration to the agent", async () => {
    const port = await freePort();
    const echo = await startDemo("echo", {
      MSEC_MANAGED: "1",
      MSEC_PORT: String(port),
      MSEC_HOST: "127.0.0.1",
      MSEC_CONSOLE: consoleProc.url,
      MSEC_TOKEN: token,
    });
    procs.push(echo);
    expect(echo.addr).toBe(`127.0.0.1:${port}`);
    expect((await fetch(`http://${echo.addr}/health`)).status).toBe(200);
    const client = createClient("Demo.Echo", { endpoints: [echo.addr], metrics: false });
    expect(await client.call("Echo", { text: "managed" })).toMatchObject({ text: "managed" });
    client.close();
    await new Promise((r) => setTimeout(r, 500));
    const listed = await call(consoleProc.url, "GET", "/services/Demo.Echo/instances", { token });
    expect(listed.body?.instances ?? []).toEqual([]);
    // No MSEC_CONTROL_KEY: the control route does not exist.
    expect((await control(echo.addr, "anything")).status).toBe(404);
    expect(await echo.stop()).toBe(0);
  });

  it("reloads config on the agent's call, with the key only, and tells the listeners what changed", async () => {
    switchConfig(root, "1", { "motd.txt": "hello", "limits.json": '{"rps":10}' });
    // The code says port 0; the agent's MSEC_PORT wins.
    const port = await freePort();
    const svc = await startWatched("conf", [join(root, "conf-service.mjs")], {
      ready: / listening on (\S+)/,
      env: {
        MSEC_MANAGED: "1",
        MSEC_PORT: String(port),
        MSEC_CONFIG_DIR: join(root, "config"),
        MSEC_CONTROL_KEY: "k-123",
        MSEC_LOG_LEVEL: "warn",
      },
    });
    procs.push(svc);
    confService = svc;
    const addr = svc.ready[1] as string;
    expect(addr).toBe(`127.0.0.1:${port}`);
    const client = createClient("Demo.Conf", { endpoints: [addr], metrics: false });
    type Got = { text: string | null; json: unknown; changes: string[][] };
    expect(await client.call<Got>("Get", { name: "motd.txt" })).toMatchObject({ text: "hello" });
    expect(await client.call<Got>("Get", { name: "limits.json", json: true })).toMatchObject({
      json: { rps: 10 },
    });

    expect((await control(addr)).status).toBe(403);
    expect((await control(addr, "k-12")).status).toBe(403);
    expect((await control(addr, "k-1234")).status).toBe(403);
    // The old content is still what the service reads: nothing reloaded yet.
    switchConfig(root, "2", { "motd.txt": "hello", "limits.json": '{"rps":20}', "new.txt": "n" });
    expect((await client.call<Got>("Get", { name: "limits.json", json: true })).json).toEqual({
      rps: 10,
    });

    const res = await control(addr, "k-123");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ reloaded: true, changed: ["limits.json", "new.txt"] });
    const after = await client.call<Got>("Get", { name: "limits.json", json: true });
    expect(after.json).toEqual({ rps: 20 });
    expect(after.changes).toEqual([["limits.json", "new.txt"]]);

    // A bad name is refused with a clear error, not read.
    await expect(client.call("Get", { name: "../secret" })).rejects.toMatchObject({
      code: "invalid_argument",
    });
    client.close();
  });

  it("a service that does not listen for changes answers reloaded: false (the agent restarts it)", async () => {
    const echo = await startDemo("echo", {
      MSEC_MANAGED: "1",
      MSEC_CONFIG_DIR: join(root, "config"),
      MSEC_CONTROL_KEY: "k-9",
    });
    procs.push(echo);
    const res = await control(echo.addr, "k-9");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ reloaded: false, changed: [] });
  });

  it("on SIGTERM, with no handler of its own, drains the call in flight and exits 0", async () => {
    const svc = confService as WatchedProcess;
    const addr = svc.ready[1] as string;
    const client = createClient("Demo.Conf", { endpoints: [addr], metrics: false });
    const slow = client.call<{ done: boolean }>("Slow", {});
    await new Promise((r) => setTimeout(r, 100));
    const code = svc.stop();
    expect(await slow).toEqual({ done: true });
    expect(await code).toBe(0);
    client.close();
  });
});
