import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ReleaseView } from "../../src/core/schemas/release.js";
import { CLUSTER_ENV, Cluster } from "../support/cluster.js";
import { startConsoleProcess } from "../support/console-process.js";
import { readAgentState, startAgentProcess } from "../support/deploy.js";
import { echoPackage, tarGz } from "../support/packages.js";
import { until } from "../support/wait.js";

/**
 * Release plans through crashes, end to end (see release-e2e.test.ts): kill -9 the
 * console in the middle of a plan (twice: in a health gate, and while a batch
 * deploys), and kill -9 an agent in the middle of its deploy.
 */
const SVC = "Test.Crash";
const MACHINES = ["m1", "m2", "m3"] as const;
const row = (s: ReleaseView["steps"][number]) => `${s.batch} ${s.machine} ${s.action} ${s.state}`;

describe("release plans through kill -9 of the console and of an agent", () => {
  const k = new Cluster();
  const ids: number[] = [];

  beforeAll(async () => {
    await k.start(MACHINES);
    const pkg = async (tag: string, startDelayMs = 0) =>
      k.push(SVC, "package", "c.tar.gz", await tarGz(echoPackage({ tag, startDelayMs })));
    // Slow to listen (1 s, 1.5 s): a wide window in which an agent is mid-deploy.
    expect(await pkg("c1", 1000)).toBe(1);
    expect(await pkg("c2", 1500)).toBe(2);
  }, 90_000);
  afterAll(async () => {
    await k.stop();
  });

  /**
   * Nothing half-applied: every machine of a started batch has its step, and a machine
   * has the plan's deployment exactly when it has a deploy step of the plan.
   */
  async function consistent(id: number, version: number): Promise<ReleaseView> {
    const r = await k.release(id);
    for (const b of r.batches) {
      const stepped = r.steps.filter((s) => s.batch === b.index).map((s) => s.machine);
      expect(stepped.sort(), `batch ${b.index} (${b.phase})`).toEqual(
        b.phase === "pending" ? [] : [...b.machines].sort(),
      );
    }
    for (const m of MACHINES) {
      const d = (await k.machine(m)).deployments.find((x) => x.service === SVC);
      const step = r.steps.find((s) => s.machine === m && s.action === "deploy");
      expect(d?.package.version ?? null, m).toBe(step ? version : null);
    }
    return r;
  }

  async function killAndRestartConsole(): Promise<void> {
    const port = Number(new URL(k.url).port);
    await k.console.kill();
    k.console = await startConsoleProcess({
      db: k.db.url,
      port,
      env: CLUSTER_ENV,
    });
  }

  it("kill -9 of the console in a health gate and again mid-batch: the plan goes on to succeeded", async () => {
    const id = await k.plan(SVC, [
      ...["--machines", "m1,m2,m3", "--type", "full", "--package", "1"],
      ...["--batches", "1,rest", "--health", "4", "--timeout", "60"],
    ]);
    ids.push(id);
    // 1. In batch 1's health gate.
    await until(
      "batch 1 in its gate",
      async () => (await k.release(id)).batches[0]?.phase === "gate",
      20_000,
    );
    await killAndRestartConsole();
    let r = await consistent(id, 1);
    expect(r.state).toBe("running");
    expect(r.steps.map(row)).toEqual(["0 m1 deploy succeeded"]);

    // 2. While batch 2 deploys (its steps written, the agents at work).
    await until(
      "batch 2 deploying",
      async () => (await k.release(id)).batches[1]?.phase === "deploying",
      30_000,
    );
    await killAndRestartConsole();
    r = await consistent(id, 1);
    expect(r.state).toBe("running");
    expect(r.steps.filter((s) => s.batch === 1).map((s) => s.machine)).toEqual(["m2", "m3"]);

    const w = await k.watch(id, 60_000);
    expect(w.code, w.stdout + w.stderr).toBe(0);
    r = await consistent(id, 1);
    expect(r.steps.map(row)).toEqual([
      "0 m1 deploy succeeded",
      "1 m2 deploy succeeded",
      "1 m3 deploy succeeded",
    ]);
    for (const s of r.steps) expect(s.endedAt).not.toBeNull();
    const shown = await k.msec(["release", "show", String(id)], k.viewer);
    expect(shown.stdout).toMatch(/state: +succeeded/);
    expect(shown.stdout).not.toMatch(/ running /);
    // Every machine serves v1, registered once.
    for (const m of MACHINES) expect((await k.direct(m, SVC)).tag).toBe("c1");
    await until(
      "3 instances registered",
      async () => (await k.instances(SVC)).length === 3,
      20_000,
    );
    expect((await k.instances(SVC)).map((i) => i.labels.version)).toEqual(["1", "1", "1"]);
  }, 120_000);

  it("kill -9 of an agent mid-deploy: restarted on the same root, it finishes and the plan succeeds", async () => {
    const id = await k.plan(SVC, [
      "--percent",
      "100",
      "--type",
      "code",
      "--package",
      "2",
      "--health",
      "2",
      "--timeout",
      "40",
    ]);
    ids.push(id);
    // m2's new process has started and is not serving yet (it takes 1.5 s to listen).
    const root = k.roots.m2 as string;
    await until(
      "m2 starting version 2",
      async () => {
        const s = readAgentState(root).services[SVC];
        return s?.current?.versions.package === 1 && s.others.some((o) => o.pid > 0);
      },
      20_000,
    );
    const starting = readAgentState(root).services[SVC]?.others[0]?.pid as number;
    await k.agents.m2?.kill();
    await new Promise((res) => setTimeout(res, 500));
    k.agents.m2 = await startAgentProcess({ consoleUrl: k.url, root });

    const w = await k.watch(id, 60_000);
    expect(w.code, w.stdout + w.stderr).toBe(0);
    const r = await k.show(id);
    expect(r.steps.map(row)).toEqual([
      "0 m1 deploy succeeded",
      "0 m2 deploy succeeded",
      "0 m3 deploy succeeded",
    ]);
    expect(k.agents.m2?.stderr()).toMatch(/ending a process of an interrupted change/);
    for (const m of MACHINES) {
      expect((await k.direct(m, SVC)).tag).toBe("c2");
      // One process per machine once the old ones drained: nothing orphaned by the kill.
      await until(`${m}: one process`, async () => k.servicePids(m, SVC).length === 1, 20_000);
      expect(k.servicePids(m, SVC)).toEqual([
        readAgentState(k.roots[m] as string).services[SVC]?.current?.pid,
      ]);
    }
    expect(k.servicePids("m2", SVC)).not.toContain(starting);
    expect((await k.instances(SVC)).map((i) => i.labels.version)).toEqual(["2", "2", "2"]);
  }, 90_000);

  it("rolled back in order, the later plan first: the first plan's rollback removes the service", async () => {
    const [first, second] = ids as [number, number];
    const early = await k.msec(["release", "rollback", String(first)]);
    expect(early.code).toBe(1);
    expect(early.stderr).toMatch(new RegExp(`release #${second}`));
    expect((await k.msec(["release", "rollback", String(second)])).code).toBe(0);
    expect((await k.watch(second)).stdout).toMatch(/ rolled_back\n$/);
    for (const m of MACHINES) expect((await k.direct(m, SVC)).tag).toBe("c1");
    const again = await k.msec(["release", "rollback", String(first)]);
    expect(again.code, again.stderr).toBe(0);
    expect((await k.watch(first)).stdout).toMatch(/ rolled_back\n$/);
    const r = await k.show(first);
    expect(
      r.steps.filter((s) => s.action === "rollback").map((s) => `${s.machine} ${s.state} ${s.to}`),
    ).toEqual(["m1 succeeded null", "m2 succeeded null", "m3 succeeded null"]);
    for (const m of MACHINES) {
      expect((await k.machine(m)).deployments.map((d) => d.service)).not.toContain(SVC);
      expect(await k.report(m, SVC)).toBeUndefined();
      expect(k.servicePids(m, SVC)).toEqual([]);
    }
    expect(await k.instances(SVC)).toEqual([]);
  }, 60_000);
});
