import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ArtifactRef, Deployment, MachineView } from "../../src/core/schemas/machine.js";
import { createClient } from "../../src/runtime/index.js";
import { type ConsoleProcess, startConsoleProcess } from "../support/console-process.js";
import {
  killServices,
  readAgentState,
  setMachineDeployment,
  startAgentProcess,
} from "../support/deploy.js";
import { freshDatabase, type TestDatabase } from "../support/engines.js";
import { call, tokenFor } from "../support/http.js";
import { echoPackage, tarGz, uploadArtifact } from "../support/packages.js";
import type { WatchedProcess } from "../support/process.js";
import { until } from "../support/wait.js";

const ADMIN_PW = "admin-password-1";
const SERVICE = "Demo.Tough";

interface Echo {
  pid: number;
  tag: string;
  config: string;
}

describe("the agent through restarts, crashes, outages and config changes", () => {
  let db: TestDatabase;
  let c: ConsoleProcess;
  let admin: string;
  let root: string;
  let agent: WatchedProcess & { machine: string };
  let pkg: ArtifactRef;
  const configs: ArtifactRef[] = [];

  const machine = async (): Promise<MachineView> =>
    (await call(c.url, "GET", "/machines/m1", { token: admin })).body as MachineView;
  const running = async () =>
    (await machine()).services.find((s) => s.service === SERVICE)?.running ?? null;
  const deploy = (extra: Partial<Deployment>) =>
    setMachineDeployment(db.url, "m1", SERVICE, {
      service: SERVICE,
      package: pkg,
      configs: [],
      libs: [],
      plugins: [],
      weight: 100,
      ...extra,
    });
  const applied = (revision: number) =>
    until(
      `revision ${revision} applied`,
      async () => (await machine()).appliedRevision >= revision,
      30_000,
    );
  /** Call the instance directly (no name service: it may be down). */
  const echo = async (): Promise<Echo> => {
    const port = readAgentState(root).services[SERVICE]?.current?.port;
    const res = await fetch(`http://127.0.0.1:${port}/${SERVICE}/Echo`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    return (await res.json()) as Echo;
  };
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };

  beforeAll(async () => {
    db = await freshDatabase("sqlite");
    c = await startConsoleProcess({ db: db.url, env: { MSEC_ADMIN_PASSWORD: ADMIN_PW } });
    admin = await tokenFor(c.url, "admin", ADMIN_PW);
    root = mkdtempSync(join(tmpdir(), "msec-agent-root-"));
    pkg = await uploadArtifact(
      c.url,
      admin,
      SERVICE,
      "package",
      await tarGz(echoPackage({ tag: "t1" })),
    );
    for (const text of ["hello-1", "hello-2"]) {
      configs.push(
        await uploadArtifact(c.url, admin, SERVICE, "config", Buffer.from(text), "app.txt"),
      );
    }
    const t = await call(c.url, "POST", "/machines/tokens", { token: admin, body: {} });
    agent = await startAgentProcess({
      consoleUrl: c.url,
      root,
      joinToken: t.body.token,
      name: "m1",
    });
    await applied(await deploy({ configs: [configs[0] as ArtifactRef] }));
  });
  afterAll(async () => {
    await agent?.stop();
    if (root) killServices(root);
    await c?.stop();
    await db?.dispose();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it("runs with its config", async () => {
    expect(await echo()).toMatchObject({ tag: "t1", config: "hello-1" });
  });

  it("a config-only change reaches the process in place in under 2 s", async () => {
    const pid = (await echo()).pid;
    const t0 = Date.now();
    await deploy({ configs: [configs[1] as ArtifactRef] });
    await until("new config", async () => (await echo()).config === "hello-2", 5000);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect((await echo()).pid).toBe(pid);
  });

  it("kill -9 of the agent: the service keeps serving; a new agent adopts the same pid", async () => {
    const before = await running();
    await agent.kill();
    expect((await echo()).pid).toBe(before?.pid);
    agent = await startAgentProcess({ consoleUrl: c.url, root });
    await agent.waitForOutput(/agent: m1/);
    await until("adopted", async () => /adopted a running process/.test(agent.stderr()));
    await until(
      "report from the new agent",
      async () => (await running())?.since === before?.since && (await machine()).online,
    );
    const after = await running();
    expect(after).toMatchObject({ pid: before?.pid, state: "healthy", restarts: 0 });
    expect((await echo()).pid).toBe(before?.pid);
  });

  it("a crashed service process is restarted and counted", async () => {
    const pid = (await running())?.pid as number;
    process.kill(pid, "SIGKILL");
    await until(
      "restarted",
      async () => {
        const r = await running();
        // At least one: on a loaded machine a restarted process may miss its health
        // deadline once and be tried again (and counted again).
        return r?.state === "healthy" && r.pid !== pid && r.restarts >= 1;
      },
      20_000,
    );
    expect(alive((await running())?.pid as number)).toBe(true);
  });

  it("console down: services keep serving, an agent restart still adopts; then it reconnects", async () => {
    const pid = (await echo()).pid;
    const port = Number(new URL(c.url).port);
    await c.stop();
    await agent.kill();
    agent = await startAgentProcess({ consoleUrl: c.url, root });
    await until("adopted in the outage", async () =>
      /adopted a running process/.test(agent.stderr()),
    );
    await new Promise((r) => setTimeout(r, 1500));
    expect((await echo()).pid).toBe(pid);
    c = await startConsoleProcess({
      db: db.url,
      port,
      env: { MSEC_ADMIN_PASSWORD: ADMIN_PW },
    });
    // Back: the agent reports and takes new desired states (a weight change here).
    const rev = await deploy({ configs: [configs[1] as ArtifactRef], weight: 25 });
    await applied(rev);
    const list = (await call(c.url, "GET", `/services/${SERVICE}/instances`, { token: admin })).body
      .instances as { weight: number }[];
    expect(list.map((i) => i.weight)).toEqual([25]);
    expect((await running())?.pid).toBe(pid);
    const client = createClient(SERVICE, {
      console: c.url,
      token: admin,
      cacheDir: mkdtempSync(join(tmpdir(), "msec-cache-")),
    });
    try {
      expect((await client.call<Echo>("Echo", {}, { idempotent: true })).pid).toBe(pid);
    } finally {
      client.close();
    }
  });

  it("one agent per root; SIGTERM stops the agent, not the services; --stop-services-on-exit does", async () => {
    const second = await startAgentProcess({ consoleUrl: c.url, root }).then(
      (p) => p.stop().then(() => "started"),
      (e: Error) => e.message,
    );
    expect(second).toMatch(/another agent \(pid \d+\) runs on/);
    const pid = (await echo()).pid;
    expect(await agent.stop()).toBe(0);
    expect((await echo()).pid).toBe(pid);
    agent = await startAgentProcess({ consoleUrl: c.url, root, args: ["--stop-services-on-exit"] });
    await until("adopted", async () => /adopted a running process/.test(agent.stderr()));
    expect(await agent.stop()).toBe(0);
    await until("service stopped", async () => !alive(pid), 5000);
    const list = (await call(c.url, "GET", `/services/${SERVICE}/instances`, { token: admin })).body
      .instances as unknown[];
    expect(list).toEqual([]);
  });
});
