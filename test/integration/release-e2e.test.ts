import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore } from "../../src/console/store/index.js";
import type { ReleaseView } from "../../src/core/schemas/release.js";
import { createClient, type RpcClient } from "../../src/runtime/index.js";
import { alive, Cluster, type Echo } from "../support/cluster.js";
import { echoPackage, rawTarGz, tarGz } from "../support/packages.js";
import { until } from "../support/wait.js";

/**
 * The release chain end to end: a real console, three real `msec agent` processes
 * (m1, m2, m3) with real service processes on loopback, artifacts pushed and plans
 * driven through the `msec` CLI only. Crash cases: release-e2e-crash.test.ts.
 */
const ECHO = "Test.Echo";
const MACHINES = ["m1", "m2", "m3"] as const;

type Step = ReleaseView["steps"][number];
const row = (s: Step) => `${s.batch} ${s.machine} ${s.action} ${s.state}`;
const ms = (t: string | null) => (t === null ? Number.NaN : Date.parse(t));

/** Non-idempotent calls from a few loops (a few hundred a second) until stopped. */
function steadyLoad(client: RpcClient, service = "Echo", workers = 4) {
  let on = true;
  const r = { ok: 0, failed: 0, errors: [] as string[], tags: new Set<string>() };
  const loops = Array.from({ length: workers }, async () => {
    while (on) {
      try {
        r.tags.add((await client.call<Echo>(service, { text: "x" })).tag);
        r.ok++;
      } catch (e) {
        r.failed++;
        if (r.errors.length < 5) r.errors.push(String(e));
      }
      await new Promise((res) => setTimeout(res, 8));
    }
  });
  return {
    async stop() {
      on = false;
      await Promise.all(loops);
      return r;
    },
  };
}

describe("release plans end to end: console, three agents, real packages, the CLI", () => {
  const k = new Cluster();
  let client: RpcClient;
  const clients: RpcClient[] = [];
  const newClient = (service: string) => {
    const cl = createClient(service, {
      console: k.url,
      token: k.admin,
      cacheDir: mkdtempSync(join(k.work, "cache-")),
    });
    clients.push(cl);
    return cl;
  };
  const pids = async (service: string) =>
    Object.fromEntries(
      await Promise.all(MACHINES.map(async (m) => [m, (await k.direct(m, service)).pid] as const)),
    );

  beforeAll(async () => {
    await k.start(MACHINES);
    // Through the CLI: packages 1 (t1), 2 (t2), 3 (unhealthy), config app.txt twice.
    const pkg = async (tag: string, mode: "ok" | "unhealthy" = "ok") =>
      k.push(
        ECHO,
        "package",
        "echo.tar.gz",
        await tarGz(echoPackage({ tag, mode, healthTimeoutMs: 3000 })),
      );
    expect(await pkg("t1")).toBe(1);
    expect(await pkg("t2")).toBe(2);
    expect(await pkg("t3", "unhealthy")).toBe(3);
    expect(await k.push(ECHO, "config", "app.txt", "conf-1")).toBe(1);
    expect(await k.push(ECHO, "config", "app.txt", "conf-2")).toBe(2);
    client = newClient(ECHO);
  }, 90_000);
  afterAll(async () => {
    for (const cl of clients) cl.close();
    await k.stop();
  });

  it("a full plan in batches 1,rest succeeds: every machine registered on v1, RPC answers, steps stored", async () => {
    const id = await k.plan(ECHO, [
      ...["--machines", "m1,m2,m3", "--type", "full", "--package", "1", "--config", "1"],
      ...["--batches", "1,rest", "--health", "2"],
    ]);
    const w = await k.watch(id);
    expect(w.code, w.stdout + w.stderr).toBe(0);
    expect(w.stdout.trim().split("\n").at(-1)).toMatch(
      new RegExp(`^release #${id} \\[##########\\] 3/3 machines .*succeeded$`),
    );

    const r = await k.show(id);
    expect(r).toMatchObject({ state: "succeeded", error: null, type: "full" });
    expect(r.batches.map((b) => [b.machines, b.phase])).toEqual([
      [["m1"], "done"],
      [["m2", "m3"], "done"],
    ]);
    expect(r.steps.map(row)).toEqual([
      "0 m1 deploy succeeded",
      "1 m2 deploy succeeded",
      "1 m3 deploy succeeded",
    ]);
    for (const s of r.steps) {
      expect(s).toMatchObject({ error: null, from: null, to: { package: 1, configs: [1] } });
      expect(ms(s.endedAt)).toBeGreaterThanOrEqual(ms(s.startedAt));
    }
    // Batch 2 started only after batch 1's machine was done and its 2 s gate held.
    const [s1, s2] = r.steps as [Step, Step];
    expect(ms(s2.startedAt) - ms(s1.endedAt)).toBeGreaterThanOrEqual(1900);

    const list = await k.instances(ECHO);
    expect(list.map((i) => `${i.labels.machine} v${i.labels.version} ${i.health}`).sort()).toEqual([
      "m1 v1 healthy",
      "m2 v1 healthy",
      "m3 v1 healthy",
    ]);
    const e = await client.call<Echo>("Echo", { text: "hi" }, { idempotent: true });
    expect(e).toMatchObject({ text: "hi", tag: "t1", version: "1", config: "conf-1" });
    expect(list.map((i) => i.addr)).toContain(e.servedBy);

    // Every step is shown by `msec release show ID`: machine, action, state, versions, times.
    const shown = await k.msec(["release", "show", String(id)], k.viewer);
    expect(shown.stdout).toMatch(/state: +succeeded/);
    for (const s of r.steps) {
      expect(shown.stdout).toContain(s.startedAt);
      expect(shown.stdout).toContain(s.endedAt);
    }
    expect(shown.stdout).toMatch(/ m1 +deploy +succeeded +\(none\) → p1 c1 /);
    expect(shown.stdout).toMatch(/ m3 +deploy +succeeded +\(none\) → p1 c1 /);
  }, 60_000);

  it("a code release under steady load: zero failed calls; then rolled back to v1, still zero", async () => {
    await client.call<Echo>("Echo", {}, { idempotent: true });
    let load = steadyLoad(client);
    const id = await k.plan(ECHO, [
      ...["--percent", "100", "--type", "code", "--package", "2"],
      ...["--batches", "1,rest", "--health", "2"],
    ]);
    const w = await k.watch(id);
    let r = await load.stop();
    expect(w.code, w.stdout + w.stderr).toBe(0);
    expect(r.errors).toEqual([]);
    expect(r.failed).toBe(0);
    expect(r.ok).toBeGreaterThan(500); // a few hundred calls a second
    expect([...r.tags].sort()).toEqual(["t1", "t2"]);
    expect((await k.instances(ECHO)).map((i) => i.labels.version)).toEqual(["2", "2", "2"]);
    const done = await k.show(id);
    expect(done.steps.map(row)).toEqual([
      "0 m1 deploy succeeded",
      "1 m2 deploy succeeded",
      "1 m3 deploy succeeded",
    ]);
    expect(done.steps[0]).toMatchObject({
      from: { package: 1, configs: [1] },
      to: { package: 2, configs: [1] },
    });

    load = steadyLoad(client);
    const rb = await k.msec(["release", "rollback", String(id)]);
    expect(rb.stdout).toBe(`release #${id}: rolling_back\n`);
    const w2 = await k.watch(id);
    r = await load.stop();
    expect(w2.code).toBe(1); // `--watch` exits 1 unless the plan succeeded
    expect(w2.stdout.trim().split("\n").at(-1)).toMatch(/ rolled_back$/);
    expect(r.errors).toEqual([]);
    expect(r.failed).toBe(0);
    const back = await k.show(id);
    expect(back.state).toBe("rolled_back");
    expect(back.steps.filter((s) => s.action === "rollback").map(row)).toEqual([
      "0 m1 rollback succeeded",
      "1 m2 rollback succeeded",
      "1 m3 rollback succeeded",
    ]);
    for (const s of back.steps.filter((x) => x.action === "rollback"))
      expect(s.to).toMatchObject({ package: 1, configs: [1] });
    expect((await k.instances(ECHO)).map((i) => i.labels.version)).toEqual(["1", "1", "1"]);
    for (const m of MACHINES) expect((await k.direct(m, ECHO)).tag).toBe("t1");
    expect((await client.call<Echo>("Echo", {}, { idempotent: true })).tag).toBe("t1");
  }, 90_000);

  it("an unhealthy version: its batch rolls back by itself, the plan fails, the old version serves", async () => {
    const before = await pids(ECHO);
    const id = await k.plan(ECHO, [
      ...["--percent", "100", "--type", "code", "--package", "3"],
      ...["--batches", "1,rest", "--health", "2", "--timeout", "30"],
    ]);
    const w = await k.watch(id);
    expect(w.code).toBe(1);
    expect(w.stderr).toMatch(
      new RegExp(`release #${id} ended failed: m1: ${ECHO} 3 on port \\d+ did not become healthy`),
    );

    const r = await k.show(id);
    expect(r.state).toBe("failed");
    expect(r.error).toMatch(
      /^m1: .*did not become healthy: health check .*\/no-such-health .*HTTP 4\d\d/,
    );
    expect(r.batches.map((b) => b.phase)).toEqual(["rolled_back", "pending"]);
    expect(r.steps.map(row)).toEqual(["0 m1 deploy failed", "0 m1 rollback succeeded"]);
    expect(r.steps[0]?.error).toMatch(/did not become healthy/);
    expect(r.steps[1]?.to).toMatchObject({ package: 1, configs: [1] });
    // m1's old process never stopped; m2 and m3 were never touched.
    expect(await pids(ECHO)).toEqual(before);
    for (const m of MACHINES) {
      const rep = await k.report(m, ECHO);
      expect(rep?.running).toMatchObject({ versions: { package: 1 }, state: "healthy" });
      expect(rep?.target).toBeNull();
    }
    expect((await k.direct("m1", ECHO)).tag).toBe("t1");
    expect((await client.call<Echo>("Echo", {}, { idempotent: true })).tag).toBe("t1");
    expect((await k.instances(ECHO)).map((i) => i.labels.version)).toEqual(["1", "1", "1"]);
    const shown = await k.msec(["release", "show", String(id)], k.viewer);
    expect(shown.stdout).toMatch(/ m1 +deploy +failed +p1 c1 → p3 c1 .*did not become healthy/);
  }, 60_000);

  it("a config-only release reaches a listening service in place within 2 s", async () => {
    const before = await pids(ECHO);
    const seen: Record<string, number> = {};
    let on = true;
    const watchers = MACHINES.map(async (m) => {
      while (on && seen[m] === undefined) {
        if ((await k.direct(m, ECHO).catch(() => null))?.config === "conf-2") seen[m] = Date.now();
        await new Promise((res) => setTimeout(res, 25));
      }
    });
    const id = await k.plan(ECHO, [
      "--percent",
      "100",
      "--type",
      "config",
      "--config",
      "2",
      "--health",
      "1",
    ]);
    const w = await k.watch(id);
    on = false;
    await Promise.all(watchers);
    expect(w.code, w.stdout + w.stderr).toBe(0);
    const r = await k.show(id);
    for (const s of r.steps) {
      expect(s.to).toMatchObject({ package: 1, configs: [2] });
      // From the moment the console wrote the machine's new desired state.
      const lag = (seen[s.machine] ?? Number.POSITIVE_INFINITY) - ms(s.startedAt);
      expect(lag, `${s.machine} got the config after ${lag} ms`).toBeLessThan(2000);
    }
    expect(await pids(ECHO)).toEqual(before);
    expect((await client.call<Echo>("Echo", {}, { idempotent: true })).config).toBe("conf-2");
  }, 60_000);

  it("a config-only release restarts a service that does not listen, gracefully: new pid, zero failed calls", async () => {
    const svc = "Test.Plain";
    const pkg = await tarGz(
      echoPackage({ tag: "p1", configListener: false, healthTimeoutMs: 3000 }),
    );
    expect(await k.push(svc, "package", "plain.tar.gz", pkg)).toBe(1);
    expect(await k.push(svc, "config", "app.txt", "plain-1")).toBe(1);
    expect(await k.push(svc, "config", "app.txt", "plain-2")).toBe(2);
    const first = await k.plan(svc, [
      "--machines",
      "m1",
      "--type",
      "full",
      "--package",
      "1",
      "--config",
      "1",
      "--health",
      "0",
    ]);
    expect((await k.watch(first)).code).toBe(0);
    const old = await k.direct("m1", svc);
    expect(old.config).toBe("plain-1");

    const plain = newClient(svc);
    await plain.call<Echo>("Echo", {}, { idempotent: true });
    const load = steadyLoad(plain, "Echo", 3);
    const id = await k.plan(svc, [
      "--machines",
      "m1",
      "--type",
      "config",
      "--config",
      "2",
      "--health",
      "1",
    ]);
    const w = await k.watch(id);
    // Calls go on past the old process's SIGTERM (sent 2 s after it was deregistered).
    await until("old process gone", async () => !alive(old.pid), 10_000);
    const r = await load.stop();
    expect(w.code, w.stdout + w.stderr).toBe(0);
    expect(r.errors).toEqual([]);
    expect(r.failed).toBe(0);
    expect(r.ok).toBeGreaterThan(200);
    const now = await k.direct("m1", svc);
    expect(now.config).toBe("plain-2");
    expect(now.pid).not.toBe(old.pid);
    expect(await k.report("m1", svc)).toMatchObject({
      running: { versions: { package: 1, configs: [2] }, state: "healthy", restarts: 0 },
      target: null,
    });
  }, 60_000);

  it("a viewer can neither create nor execute a plan", async () => {
    const args = ["release", "plan", ECHO, "--percent", "100", "--type", "code", "--package", "2"];
    const made = await k.msec(args, k.viewer);
    expect(made.code).toBe(1);
    expect(made.stderr).toMatch(/needs the operator role; vera is viewer/);
    const draft = await k.msec(args);
    expect(draft.code, draft.stderr).toBe(0);
    const id = draft.stdout.trim();
    const exec = await k.msec(["release", "execute", id], k.viewer);
    expect(exec.code).toBe(1);
    expect(exec.stderr).toMatch(/needs the operator role; vera is viewer/);
    expect((await k.release(Number(id))).state).toBe("draft");
    expect((await k.msec(["release", "abort", id])).stdout).toBe(`release #${id}: aborted\n`);
  }, 30_000);

  describe("refused packages: the plan fails with the agent's reason in the step", () => {
    /** Rewrite an artifact's row in the console's SQLite file while the console runs. */
    async function tamper(
      service: string,
      version: number,
      set: { content: Buffer; sha256?: string },
    ) {
      const store = await openStore(k.db.url);
      try {
        for (let attempt = 1; ; attempt++) {
          try {
            const r = await store.db
              .updateTable("artifacts")
              .set(set)
              .where("service", "=", service)
              .where("kind", "=", "package")
              .where("version", "=", version)
              .executeTakeFirst();
            expect(Number(r.numUpdatedRows)).toBe(1);
            return;
          } catch (e) {
            if ((e as { code?: string }).code !== "SQLITE_BUSY" || attempt >= 20) throw e;
            await new Promise((res) => setTimeout(res, 50));
          }
        }
      } finally {
        await store.close();
      }
    }
    const nothingUnpacked = (service: string) => {
      const releases = join(k.roots.m1 as string, ...service.split("."), "releases");
      expect(existsSync(releases) ? readdirSync(releases) : []).toEqual([]);
      expect(k.servicePids("m1", service)).toEqual([]);
    };
    async function failedPlan(service: string, version: number): Promise<ReleaseView> {
      const id = await k.plan(service, [
        "--machines",
        "m1",
        "--type",
        "full",
        "--package",
        String(version),
        "--health",
        "0",
      ]);
      const w = await k.watch(id);
      expect(w.code).toBe(1);
      const r = await k.show(id);
      expect(r.state).toBe("failed");
      // Nothing ran before: the rollback removes the service again, and that step succeeds.
      expect(r.steps.map(row)).toEqual(["0 m1 deploy failed", "0 m1 rollback succeeded"]);
      expect(r.steps[1]?.to).toBeNull();
      expect(r.error).toBe(`m1: ${r.steps[0]?.error}`);
      return r;
    }

    it("bytes changed in the store after signing: refused by hash, nothing unpacked", async () => {
      const svc = "Test.Tamper";
      expect(
        await k.push(svc, "package", "p.tar.gz", await tarGz(echoPackage({ tag: "real" }))),
      ).toBe(1);
      await tamper(svc, 1, { content: await tarGz(echoPackage({ tag: "evil" })) });
      const r = await failedPlan(svc, 1);
      expect(r.steps[0]?.error).toMatch(
        /^Test\.Tamper package version 1 refused: its bytes hash to [0-9a-f]{64}, the desired state says [0-9a-f]{64}; nothing was unpacked$/,
      );
      nothingUnpacked(svc);
    }, 40_000);

    it("bytes and hash changed, signature kept: refused by signature, nothing unpacked", async () => {
      const svc = "Test.Forged";
      expect(
        await k.push(svc, "package", "p.tar.gz", await tarGz(echoPackage({ tag: "real" }))),
      ).toBe(1);
      const evil = await tarGz(echoPackage({ tag: "evil" }));
      await tamper(svc, 1, {
        content: evil,
        sha256: createHash("sha256").update(evil).digest("hex"),
      });
      const r = await failedPlan(svc, 1);
      expect(r.steps[0]?.error).toMatch(
        /refused: the signature is not the console's .*nothing was unpacked/,
      );
      nothingUnpacked(svc);
    }, 40_000);

    it("a tarball with a ../ entry: package refused, nothing written outside (or inside)", async () => {
      const svc = "Test.Evil";
      const bytes = rawTarGz([
        { path: "msec.json", body: JSON.stringify({ entry: "server.js" }) },
        { path: "server.js", body: "console.log('hi')" },
        { path: "../evil.txt", body: "owned" },
      ]);
      expect(await k.push(svc, "package", "evil.tar.gz", bytes)).toBe(1);
      const r = await failedPlan(svc, 1);
      expect(r.steps[0]?.error).toMatch(
        /package refused: entry '\.\.\/evil\.txt' has a '\.\.' component/,
      );
      nothingUnpacked(svc);
      const dir = join(k.roots.m1 as string, "Test", "Evil");
      for (const p of [
        join(dir, "evil.txt"),
        join(dir, "releases", "evil.txt"),
        join(k.roots.m1 as string, "Test", "evil.txt"),
      ])
        expect(existsSync(p), p).toBe(false);
    }, 40_000);
  });
});
