import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ArtifactRef, Deployment, MachineView } from "../../src/core/schemas/machine.js";
import { createClient, type RpcClient } from "../../src/runtime/index.js";
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
import { load, until } from "../support/wait.js";

const ADMIN_PW = "admin-password-1";
const SERVICE = "Demo.Agent";

interface Echo {
  servedBy: string;
  tag: string;
  pid: number;
  version: string;
}

describe("the agent deploys, reloads and refuses", () => {
  let db: TestDatabase;
  let c: ConsoleProcess;
  let admin: string;
  let root: string;
  let cacheDir: string;
  let agent: WatchedProcess & { machine: string };
  let client: RpcClient;
  const pkgs: Record<string, ArtifactRef> = {};

  const machine = async (): Promise<MachineView> =>
    (await call(c.url, "GET", "/machines/m1", { token: admin })).body as MachineView;
  const serviceReport = async () => (await machine()).services.find((s) => s.service === SERVICE);
  const instances = async () =>
    ((await call(c.url, "GET", `/services/${SERVICE}/instances`, { token: admin })).body
      .instances ?? []) as {
      addr: string;
      weight: number;
      labels: Record<string, string>;
      health: string;
    }[];
  const deploy = (pkg: ArtifactRef, extra: Partial<Deployment> = {}) =>
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

  beforeAll(async () => {
    db = await freshDatabase("sqlite");
    c = await startConsoleProcess({ db: db.url, env: { MSEC_ADMIN_PASSWORD: ADMIN_PW } });
    admin = await tokenFor(c.url, "admin", ADMIN_PW);
    root = mkdtempSync(join(tmpdir(), "msec-agent-root-"));
    cacheDir = mkdtempSync(join(tmpdir(), "msec-agent-cache-"));
    for (const [tag, mode] of [
      ["v1", "ok"],
      ["v2", "ok"],
      ["v3", "unhealthy"],
      ["v4", "crash"],
      ["v5", "ok"],
    ] as const) {
      const bytes = await tarGz(echoPackage({ tag, mode, healthTimeoutMs: 3000 }));
      pkgs[tag] = await uploadArtifact(c.url, admin, SERVICE, "package", bytes);
    }
    client = createClient(SERVICE, { console: c.url, token: admin, cacheDir });
  });
  afterAll(async () => {
    client?.close();
    await agent?.stop();
    if (root) killServices(root);
    await c?.stop();
    await db?.dispose();
    for (const d of [root, cacheDir]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it("enrolls with a join token; a second use of the token is refused", async () => {
    const t = await call(c.url, "POST", "/machines/tokens", {
      token: admin,
      body: { labels: { zone: "sz" } },
    });
    expect(t.status).toBe(201);
    agent = await startAgentProcess({
      consoleUrl: c.url,
      root,
      joinToken: t.body.token,
      name: "m1",
    });
    expect(agent.machine).toBe("m1");
    const other = mkdtempSync(join(tmpdir(), "msec-agent-root-"));
    try {
      const none = await startAgentProcess({ consoleUrl: c.url, root: other }).then(
        (p) => p.stop().then(() => "started"),
        (e: Error) => e.message,
      );
      expect(none).toMatch(/exited with 1[\s\S]*has not enrolled yet: pass --token/);
      const again = await startAgentProcess({
        consoleUrl: c.url,
        root: other,
        joinToken: t.body.token,
        name: "m2",
      }).then(
        (p) => p.stop().then(() => "started"),
        (e: Error) => e.message,
      );
      expect(again).toMatch(/exited with 1[\s\S]*enrollment refused/);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
    await until("first report", async () => (await machine()).online);
  });

  it("deploys a package: it runs, is registered healthy with its labels, answers RPC", async () => {
    const rev = await deploy(pkgs.v1 as ArtifactRef);
    await applied(rev);
    const report = await serviceReport();
    expect(report?.running).toMatchObject({
      versions: { package: 1 },
      state: "healthy",
      restarts: 0,
    });
    expect(report?.target).toBeNull();
    const [inst] = await instances();
    expect(inst).toMatchObject({
      weight: 100,
      health: "healthy",
      labels: { version: "1", machine: "m1" },
    });
    expect(inst?.addr).toBe(report?.running?.addr);
    const r = await client.call<Echo>("Echo", { text: "hi" }, { idempotent: true });
    expect(r).toMatchObject({
      tag: "v1",
      version: "1",
      servedBy: inst?.addr,
      pid: report?.running?.pid,
    });
    // The layout on disk.
    const dir = join(root, "Demo", "Agent");
    expect(readdirSync(join(dir, "releases"))).toEqual(["1"]);
    expect(existsSync(join(dir, "current", "msec.json"))).toBe(true);
    expect(existsSync(join(dir, "logs", "stdout.log"))).toBe(true);
  });

  it("reloads to a new version with zero failed calls under steady load", async () => {
    const before = (await serviceReport())?.running?.pid as number;
    let rev = 0;
    setTimeout(() => void deploy(pkgs.v2 as ArtifactRef).then((r) => (rev = r)), 500);
    const tags = new Set<string>();
    const r = await load(7000, 4, async () => {
      // Not idempotent: a failed call could not be retried elsewhere.
      const e = await client.call<Echo>("Echo", { text: "x" });
      tags.add(e.tag);
    });
    expect(r.errors).toEqual([]);
    expect(r.failed).toBe(0);
    expect(r.ok).toBeGreaterThan(1400); // a few hundred calls a second
    expect([...tags].sort()).toEqual(["v1", "v2"]);
    await applied(rev);
    const report = await serviceReport();
    expect(report?.running).toMatchObject({ versions: { package: 2 }, state: "healthy" });
    expect(report?.running?.pid).not.toBe(before);
    await until("old process gone", async () => {
      try {
        process.kill(before, 0);
        return false;
      } catch {
        return true;
      }
    });
    const list = await instances();
    expect(list.map((i) => i.labels.version)).toEqual(["2"]);
  });

  it("a failing health check leaves the old version serving and reports the change failed", async () => {
    const pid = (await serviceReport())?.running?.pid;
    const rev = await deploy(pkgs.v3 as ArtifactRef);
    await applied(rev);
    const report = await serviceReport();
    expect(report?.running).toMatchObject({ versions: { package: 2 }, state: "healthy", pid });
    expect(report?.target).toMatchObject({ versions: { package: 3 }, phase: "failed" });
    expect(report?.target?.error).toMatch(
      /did not become healthy.*health check .*\/no-such-health.*HTTP 4\d\d/,
    );
    expect((await client.call<Echo>("Echo", {})).tag).toBe("v2");
    expect((await instances()).map((i) => i.labels.version)).toEqual(["2"]);
  });

  it("a package that crashes at start fails with its stderr in the report", async () => {
    const rev = await deploy(pkgs.v4 as ArtifactRef);
    await applied(rev);
    const report = await serviceReport();
    expect(report?.running).toMatchObject({ versions: { package: 2 }, state: "healthy" });
    expect(report?.target?.phase).toBe("failed");
    expect(report?.target?.error).toMatch(/exited with code 3.*crashing at start on purpose/);
    // Not retried by itself: still failed a few seconds (and reports) later.
    await new Promise((r) => setTimeout(r, 2500));
    expect((await serviceReport())?.target?.phase).toBe("failed");
    expect(readAgentState(root).services[SERVICE]?.others).toEqual([]);
  });

  it("refuses a tampered artifact (sha256 not the desired state's): nothing unpacked", async () => {
    // Version 5's signature and number, another package's sha256.
    const forged: ArtifactRef = {
      ...(pkgs.v5 as ArtifactRef),
      sha256: (pkgs.v1 as ArtifactRef).sha256,
    };
    const before = readdirSync(join(root, "Demo", "Agent", "releases")).sort();
    const rev = await deploy(forged);
    await applied(rev);
    const report = await serviceReport();
    expect(report?.target?.phase).toBe("failed");
    expect(report?.target?.error).toMatch(/refused: its bytes hash to .*nothing was unpacked/);
    expect(report?.running?.versions.package).toBe(2);
    expect(readdirSync(join(root, "Demo", "Agent", "releases")).sort()).toEqual(before);
    expect(
      readdirSync(join(root, ".agent", "cache", SERVICE)).some((n) => n.startsWith("package-5-")),
    ).toBe(false);
  });

  it("a rollback to what runs clears the failure; a weight change re-registers", async () => {
    const rev = await deploy(pkgs.v2 as ArtifactRef, { weight: 40 });
    await applied(rev);
    const report = await serviceReport();
    expect(report?.target).toBeNull();
    expect(report?.running?.versions.package).toBe(2);
    await until("weight 40", async () => (await instances())[0]?.weight === 40);
  });

  it("runs the example package of docs/packages.md as written", async () => {
    const svc = "Demo.Hello";
    const pkg = await uploadArtifact(
      c.url,
      admin,
      svc,
      "package",
      await tarGz({
        "msec.json":
          '{ "entry": "server.js", "healthCheck": { "path": "/health", "timeoutMs": 20000 } }',
        "package.json": '{ "type": "module" }',
        "server.js": [
          'import { createServer, config } from "msec";',
          "",
          "const server = createServer({ service: process.env.MSEC_SERVICE, port: 0 });",
          'let greeting = config.get("greeting.txt") ?? "hello";',
          "config.onChange(() => {",
          '  greeting = config.get("greeting.txt") ?? "hello";',
          "});",
          // biome-ignore lint/suspicious/noTemplateCurlyInString: the package's own source text
          'server.json("Hello", (req) => ({ text: `${greeting}, ${req.name}` }));',
          "await server.listen();",
        ].join("\n"),
      }),
    );
    const greeting = await uploadArtifact(
      c.url,
      admin,
      svc,
      "config",
      Buffer.from("hi"),
      "greeting.txt",
    );
    const rev = await setMachineDeployment(db.url, "m1", svc, {
      service: svc,
      package: pkg,
      configs: [greeting],
      libs: [],
      plugins: [],
      weight: 100,
    });
    await applied(rev);
    const report = (await machine()).services.find((s) => s.service === svc);
    expect(report?.running?.state).toBe("healthy");
    const res = await fetch(`http://${report?.running?.addr}/${svc}/Hello`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "ann" }),
    });
    expect(await res.json()).toEqual({ text: "hi, ann" });
    await applied(await setMachineDeployment(db.url, "m1", svc, null));
  });

  it("a removed deployment stops and deregisters the service", async () => {
    const pid = (await serviceReport())?.running?.pid as number;
    const rev = await setMachineDeployment(db.url, "m1", SERVICE, null);
    await applied(rev);
    expect(await serviceReport()).toBeUndefined();
    expect(await instances()).toEqual([]);
    expect(() => process.kill(pid, 0)).toThrow();
    expect(existsSync(join(root, "Demo", "Agent", "logs", "stdout.log"))).toBe(true);
  });
});
