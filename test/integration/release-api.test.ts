import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256 } from "../../src/console/auth/secrets.js";
import { getDeployment, setDeployment } from "../../src/console/machines/deployments.js";
import { type Agent, healthyAgent } from "../../src/console/release/testing.js";
import { openStore, type Store } from "../../src/console/store/index.js";
import type { ArtifactRef, Deployment } from "../../src/core/schemas/machine.js";
import { type ConsoleProcess, runCli, startConsoleProcess } from "../support/console-process.js";
import { freshDatabase, type TestDatabase } from "../support/engines.js";
import { call, tokenFor, userToken } from "../support/http.js";

const ADMIN_PW = "admin-password-1";
// Short executor timers, so a plan moves (and a restarted console takes over) quickly.
const ENV = {
  MSEC_ADMIN_PASSWORD: ADMIN_PW,
  MSEC_RELEASE_TICK_MS: "100",
  MSEC_RELEASE_LEASE_MS: "1500",
};
const SVC = "Demo.Rel";

async function upload(base: string, path: string, body: string, token: string) {
  const res = await fetch(`${base}/api/v1${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/octet-stream" },
    body,
  });
  expect(res.status).toBe(201);
  return (await res.json()) as ArtifactRef & { version: number };
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("release plans over HTTP and the CLI", () => {
  let db: TestDatabase;
  let c: ConsoleProcess;
  let store: Store;
  let admin: string;
  let operator: string;
  let viewer: string;
  let home: string;
  const machineIds = new Map<string, number>();
  const credentials = new Map<string, string>();
  let agentsOn = false;
  let agentLoop: Promise<void> | undefined;

  /**
   * Stand-in agents speaking the agent protocol: each machine reads its desired state and
   * reports that it runs it, healthy (the real agent is tested on its own).
   */
  function startAgents(service: string, agent: Agent = healthyAgent): void {
    agentsOn = true;
    agentLoop = (async () => {
      while (agentsOn) {
        for (const credential of credentials.values()) {
          const desired = await call(c.url, "GET", "/machines/self/desired?waitMs=0", {
            token: credential,
          });
          expect(desired.status).toBe(200);
          const d = (desired.body.deployments as Deployment[]).find((x) => x.service === service);
          const svc = agent(d ?? null, undefined);
          const put = await call(c.url, "PUT", "/machines/self/state", {
            token: credential,
            body: { appliedRevision: desired.body.revision, services: svc ? [svc] : [] },
          });
          expect(put.status).toBe(204);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
  }
  async function stopAgents(): Promise<void> {
    agentsOn = false;
    await agentLoop;
  }

  const create = (body: Record<string, unknown>, token = operator) =>
    call(c.url, "POST", "/releases", { token, body: { service: SVC, ...body } });
  const action = (id: number, what: string, token = operator) =>
    call(c.url, "POST", `/releases/${id}/${what}`, { token });
  const show = async (id: number) =>
    (await call(c.url, "GET", `/releases/${id}`, { token: viewer })).body;

  beforeAll(async () => {
    db = await freshDatabase("sqlite");
    c = await startConsoleProcess({ db: db.url, env: ENV });
    admin = await tokenFor(c.url, "admin", ADMIN_PW);
    operator = await userToken(c.url, admin, "olga", "operator");
    viewer = await userToken(c.url, admin, "vera", "viewer");
    home = mkdtempSync(join(tmpdir(), "msec-home-"));
    await upload(c.url, `/artifacts/${SVC}/package`, "package v1", operator);
    await upload(c.url, `/artifacts/${SVC}/package`, "package v2", operator);
    await upload(c.url, `/artifacts/${SVC}/config?name=app.conf`, "port=1", operator);
    await upload(c.url, `/artifacts/${SVC}/config?name=app.conf`, "port=2", operator);
    await upload(c.url, `/artifacts/${SVC}/config?name=db.conf`, "db=x", operator);

    // Machines as enrollment leaves them (before any agent runs, so the console is the only
    // writer afterwards); m1 and m2 run package 1 of the service already.
    store = await openStore(db.url);
    const v1 = await call(c.url, "GET", `/artifacts/${SVC}/package/1`, { token: viewer });
    for (const name of ["m1", "m2", "m3"]) {
      const credential = `msecm_${name}-${randomUUID()}`;
      credentials.set(name, credential);
      const row = await store.db
        .insertInto("machines")
        .values({
          name,
          credential_hash: sha256(credential),
          hostname: name,
          agent_version: "test",
          labels: JSON.stringify({ zone: name === "m3" ? "gz" : "sz" }),
          enrolled_at: Date.now(),
        })
        .returning("id")
        .executeTakeFirstOrThrow();
      machineIds.set(name, Number(row.id));
      if (name !== "m3") {
        const pkg = {
          version: 1,
          sha256: v1.body.sha256,
          signature: v1.body.signature,
          name: null,
        };
        await setDeployment(
          store.db,
          Number(row.id),
          SVC,
          { service: SVC, package: pkg, configs: [], libs: [], plugins: [], weight: 100 },
          Date.now(),
        );
      }
    }
  });
  afterAll(async () => {
    await stopAgents();
    await store?.close();
    await c?.stop();
    await db?.dispose();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it("refuses versions that do not exist, naming the field", async () => {
    const percent = { kind: "percent", percent: 100 };
    const cases: [Record<string, unknown>, string][] = [
      [{ targets: percent, type: "code", versions: { package: 9 } }, "body.versions.package"],
      [
        { targets: percent, type: "config", versions: { configs: [1, 99] } },
        "body.versions.configs.1",
      ],
      // Two versions of one file.
      [
        { targets: percent, type: "config", versions: { configs: [1, 2] } },
        "body.versions.configs.1",
      ],
      [
        { targets: percent, type: "code", versions: { package: 2, configs: [1] } },
        "body.versions.configs",
      ],
      [{ targets: percent, type: "full", versions: {} }, "body.versions.package"],
      [
        { targets: { kind: "percent", percent: 0 }, type: "code", versions: { package: 2 } },
        "body.targets.percent",
      ],
    ];
    for (const [body, field] of cases) {
      const r = await create(body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error.field).toBe(field);
      expect(r.body.error.message).toContain(field);
    }
    const ok = await create({ targets: percent, type: "config", versions: { configs: [2, 3] } });
    expect(ok.status).toBe(201);
    expect(ok.body.spec.artifacts.configs.map((a: ArtifactRef) => a.name)).toEqual([
      "app.conf",
      "db.conf",
    ]);
    await action(ok.body.id, "abort");
  });

  it("needs the operator role to create or act; a viewer reads", async () => {
    const body = {
      targets: { kind: "machines", machines: ["m1"] },
      type: "code",
      versions: { package: 2 },
    };
    expect((await create(body, viewer)).status).toBe(403);
    const r = await create(body);
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({
      service: SVC,
      type: "code",
      state: "draft",
      createdBy: "olga",
      batches: [],
      steps: [],
    });
    expect((await action(r.body.id, "execute", viewer)).status).toBe(403);
    expect((await show(r.body.id)).state).toBe("draft");
    const list = await call(c.url, "GET", `/releases?service=${SVC}&state=draft`, {
      token: viewer,
    });
    expect(list.status).toBe(200);
    expect(list.body.releases.map((p: { id: number }) => p.id)).toContain(r.body.id);
    expect((await call(c.url, "GET", "/releases/9999", { token: viewer })).status).toBe(404);
    expect(
      (await call(c.url, "GET", "/releases?state=nope", { token: viewer })).body.error.field,
    ).toBe("query.state");
    await action(r.body.id, "abort");
  });

  it("resolves targets at execute: unknown machines and machines without the service are refused", async () => {
    const unknown = await create({
      targets: { kind: "machines", machines: ["m1", "zz"] },
      type: "full",
      versions: { package: 2 },
    });
    const r1 = await action(unknown.body.id, "execute");
    expect(r1.status).toBe(400);
    expect(r1.body.error).toMatchObject({ field: "spec.targets.machines.1" });
    const code = await create({
      targets: { kind: "labels", labels: { zone: "gz" } },
      type: "code",
      versions: { package: 2 },
    });
    const r2 = await action(code.body.id, "execute");
    expect(r2.status).toBe(400);
    expect(r2.body.error.message).toMatch(/machine "m3" does not run Demo\.Rel/);
    expect((await show(code.body.id)).state).toBe("draft");
  });

  it("refuses a second executing plan on a service, and actions the state does not allow (409)", async () => {
    const body = {
      targets: { kind: "machines", machines: ["m1"] },
      type: "code",
      versions: { package: 2 },
    };
    const a = (await create(body)).body.id as number;
    const b = (await create(body)).body.id as number;
    const ra = await action(a, "execute");
    expect(ra.status).toBe(200);
    expect(ra.body.state).toBe("running");
    expect(ra.body.batches).toEqual([{ index: 0, machines: ["m1"], phase: "pending" }]);
    const rb = await action(b, "execute");
    expect(rb.status).toBe(409);
    expect(rb.body.error.message).toMatch(new RegExp(`release #${a} is already moving`));

    expect((await action(a, "pause")).body).toMatchObject({
      state: "paused",
      pausedFor: "operator",
    });
    const again = await action(a, "pause");
    expect(again.status).toBe(409);
    expect(again.body.error.message).toMatch(/cannot pause a paused plan/);
    expect((await action(a, "resume")).body.state).toBe("running");
    expect((await action(a, "abort")).body.state).toBe("aborted");
    expect((await action(a, "execute")).body.error.message).toMatch(
      /cannot execute an aborted plan/,
    );
    // With the first one ended, the second may go; abort it too before it moves anything.
    expect((await action(b, "execute")).status).toBe(200);
    expect((await action(b, "abort")).status).toBe(200);

    const audit = await call(c.url, "GET", "/audit?limit=200", { token: admin });
    const mine = audit.body.entries
      .filter((e: { target: string }) => e.target === `release:${a}`)
      .map((e: { action: string; actor: string }) => `${e.actor} ${e.action}`);
    expect(mine).toEqual(
      ["release.create", "release.execute", "release.pause", "release.resume", "release.abort"]
        .map((x) => `olga ${x}`)
        .reverse(),
    );
  });

  it("runs a plan to the end from the agents' reports, and rolls it back", async () => {
    startAgents(SVC);
    try {
      const r = await create({
        targets: { kind: "labels", labels: { zone: "sz" } },
        type: "code",
        versions: { package: 2 },
        batches: [{ machines: 1 }, { rest: true }],
        gate: { healthSeconds: 1 },
        canaryWeight: 20,
      });
      const id = r.body.id as number;
      expect((await action(id, "execute")).status).toBe(200);
      const done = await until("the plan to succeed", async () => {
        const p = await show(id);
        return p.state === "succeeded" ? p : undefined;
      });
      expect(done.batches.map((b: { phase: string }) => b.phase)).toEqual(["done", "done"]);
      expect(
        done.steps.map((s: { machine: string; state: string; to: { package: number } }) => [
          s.machine,
          s.state,
          s.to.package,
        ]),
      ).toEqual([
        ["m1", "succeeded", 2],
        ["m2", "succeeded", 2],
      ]);
      expect((await getDeployment(store.db, machineIds.get("m1") ?? 0, SVC))?.weight).toBe(100);

      expect((await action(id, "rollback")).body.state).toBe("rolling_back");
      const back = await until("the rollback", async () => {
        const p = await show(id);
        return p.state === "rolled_back" ? p : undefined;
      });
      expect(back.steps.filter((s: { action: string }) => s.action === "rollback")).toHaveLength(2);
      expect((await getDeployment(store.db, machineIds.get("m2") ?? 0, SVC))?.package.version).toBe(
        1,
      );
    } finally {
      await stopAgents();
    }
  });

  it("continues a plan after the console is killed with -9 in the middle of a batch", async () => {
    const r = await create({
      targets: { kind: "machines", machines: ["m1", "m2"] },
      type: "code",
      versions: { package: 2 },
      batches: [{ machines: 1 }, { rest: true }],
      gate: { healthSeconds: 0 },
    });
    const id = r.body.id as number;
    await action(id, "execute");
    // The first batch starts; with no agent answering it stays in flight.
    await until("the first step", async () =>
      (await show(id)).steps.length === 1 ? true : undefined,
    );
    await c.kill();
    c = await startConsoleProcess({ db: db.url, env: ENV });
    const mid = await show(id);
    expect(mid.state).toBe("running");
    expect(mid.batches[0].phase).toBe("deploying");
    startAgents(SVC);
    try {
      const done = await until("the plan to succeed", async () => {
        const p = await show(id);
        return p.state === "succeeded" ? p : undefined;
      });
      // One step per machine: the batch in flight was watched to its end, not started again.
      expect(
        done.steps.map((s: { machine: string; action: string }) => `${s.machine} ${s.action}`),
      ).toEqual(["m1 deploy", "m2 deploy"]);
    } finally {
      await stopAgents();
    }
  });

  it("plans, lists, shows, watches and acts from the CLI", async () => {
    const env = { MSEC_CONSOLE: c.url, MSEC_TOKEN: operator, MSEC_HOME: home };
    const bad = await runCli(["release", "plan", SVC, "--type", "code", "--package", "2"], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/exactly one of --machines, --percent, --label/);

    const missing = await runCli(
      ["release", "plan", SVC, "--percent", "50", "--type", "code", "--package", "7"],
      { env },
    );
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/body\.versions\.package/);

    startAgents(SVC);
    try {
      const plan = await runCli(
        [
          "release",
          "plan",
          SVC,
          "--label",
          "zone=sz",
          "--type",
          "full",
          "--package",
          "2",
          "--config",
          "2",
          "--batches",
          "1,rest",
          "--health",
          "0",
          "--canary-weight",
          "10",
          "--note",
          "cli",
          "--execute",
        ],
        { env },
      );
      expect(plan.code, plan.stderr).toBe(0);
      const id = Number(plan.stdout.trim());
      expect(id).toBeGreaterThan(0);
      expect(plan.stderr).toMatch(/is running: 2 batch/);

      const watched = await runCli(["release", "show", String(id), "--watch"], { env });
      expect(watched.code, watched.stdout + watched.stderr).toBe(0);
      const lines = watched.stdout.trim().split("\n");
      expect(lines.at(-1)).toMatch(
        new RegExp(`^release #${id} \\[##########\\] 2/2 machines .*succeeded$`),
      );

      const shown = await runCli(["release", "show", String(id)], { env });
      expect(shown.stdout).toMatch(/state: +succeeded/);
      expect(shown.stdout).toMatch(/BATCHES/);
      expect(shown.stdout).toMatch(/m1 +deploy +succeeded +p2 → p2 c2/);

      const json = await runCli(["release", "show", String(id), "--json"], { env });
      expect(JSON.parse(json.stdout)).toMatchObject({ id, state: "succeeded", note: "cli" });

      const list = await runCli(["release", "list", "--service", SVC, "--state", "succeeded"], {
        env,
      });
      expect(list.stdout).toMatch(
        new RegExp(`^${id} +${SVC.replace(".", "\\.")} +full +succeeded +2/2 +2 +olga`, "m"),
      );

      const pause = await runCli(["release", "pause", String(id)], { env });
      expect(pause.code).not.toBe(0);
      expect(pause.stderr).toMatch(/cannot pause a succeeded plan/);
      const rollback = await runCli(["release", "rollback", String(id)], { env });
      expect(rollback.stdout).toBe(`release #${id}: rolling_back\n`);
    } finally {
      await stopAgents();
    }
  });
});
