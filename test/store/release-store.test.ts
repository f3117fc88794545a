import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { queryAudit } from "../../src/console/audit/repo.js";
import {
  DesiredStateEvents,
  getDeployment,
  setDeployment,
} from "../../src/console/machines/deployments.js";
import { act } from "../../src/console/release/actions.js";
import { applyDecision } from "../../src/console/release/apply.js";
import { createReleaseExecutor, type ReleaseExecutor } from "../../src/console/release/executor.js";
import type { MachineRef } from "../../src/console/release/model.js";
import { advance } from "../../src/console/release/plan.js";
import {
  activePlanOf,
  getPlan,
  insertPlan,
  listPlans,
  workingPlanIds,
  writePatch,
} from "../../src/console/release/repo.js";
import { splitBatches } from "../../src/console/release/targets.js";
import {
  type Agent,
  deployment,
  failingAgent,
  healthyAgent,
  spec,
  T0,
} from "../../src/console/release/testing.js";
import { openStore, type Store } from "../../src/console/store/index.js";
import { createLogger } from "../../src/core/log.js";
import type { Deployment } from "../../src/core/schemas/machine.js";
import type { ReleaseSpec } from "../../src/core/schemas/release.js";
import { TEST_ENGINES, useFreshStore } from "../support/engines.js";

const log = createLogger({ level: "silent" });
const SEC = 1000;
let serviceCount = 0;

describe.each(TEST_ENGINES)("release store [%s]", (engine) => {
  const fresh = useFreshStore(engine);
  let clock = T0;
  const now = () => clock;

  /** A new service name and machines running version 1 of it (or nothing). */
  async function setup(n: number, initial: (i: number) => Deployment | null = () => null) {
    const service = `Rel${++serviceCount}.Svc`;
    const ms: MachineRef[] = [];
    for (let i = 0; i < n; i++) {
      const name = `${service.toLowerCase().replace(".", "-")}-m${i + 1}`;
      const row = await fresh.store.db
        .insertInto("machines")
        .values({
          name,
          credential_hash: randomUUID(),
          hostname: name,
          agent_version: "test",
          labels: JSON.stringify({ zone: i % 2 ? "gz" : "sz" }),
          enrolled_at: clock,
        })
        .returning("id")
        .executeTakeFirstOrThrow();
      const m = { id: Number(row.id), name };
      ms.push(m);
      const d = initial(i);
      if (d) await setDeployment(fresh.store.db, m.id, service, { ...d, service }, clock);
    }
    return { service, machines: ms };
  }

  const planSpec = (service: string, over: Partial<ReleaseSpec> = {}) => spec({ service, ...over });

  /** Create a plan and execute it with these batches, as the routes do. */
  async function executed(s: ReleaseSpec, batches: MachineRef[][]) {
    const id = await insertPlan(fresh.store.db, s, "olga", clock);
    const plan = await getPlan(fresh.store.db, id);
    const r = act(plan, { action: "execute", batches }, clock);
    if (!r.ok) throw new Error(r.message);
    expect(await writePatch(fresh.store.db, plan, r.patch, clock)).toBe(true);
    return id;
  }

  /** The agent of a machine catches up with its desired state and reports, as a real one would. */
  async function report(m: MachineRef, service: string, agent: Agent = healthyAgent) {
    const db = fresh.store.db;
    const row = await db
      .selectFrom("machines")
      .select(["desired_revision", "report"])
      .where("id", "=", m.id)
      .executeTakeFirstOrThrow();
    const last = (JSON.parse(row.report) as ReturnType<Agent>[]).find(
      (s) => s?.service === service,
    );
    const svc = agent(await getDeployment(db, m.id, service), last ?? undefined);
    await db
      .updateTable("machines")
      .set({
        applied_revision: Number(row.desired_revision),
        report: JSON.stringify(svc ? [svc] : []),
        last_seen_at: clock,
      })
      .where("id", "=", m.id)
      .execute();
  }

  /** One executor pass; the lease is renewed on the test's clock first (its timer runs on real time). */
  async function tick(ex: ReleaseExecutor): Promise<number> {
    await ex.lease.renew();
    return ex.tick();
  }

  async function executor(
    store: Store = fresh.store,
    holder = "replica-a",
  ): Promise<ReleaseExecutor> {
    const ex = createReleaseExecutor({
      store,
      log,
      now,
      desired: new DesiredStateEvents(),
      tickMs: null,
      holder,
      leaseTtlMs: 15 * SEC,
    });
    await ex.start();
    return ex;
  }

  it("stores plans, lists them by service and state, and refuses two active plans on a service", async () => {
    const { service, machines } = await setup(1, () => deployment(1));
    const a = await insertPlan(fresh.store.db, planSpec(service), "olga", clock);
    const b = await insertPlan(
      fresh.store.db,
      planSpec(service, { note: "second" }),
      "olga",
      clock,
    );
    const listed = await listPlans(fresh.store.db, { service, limit: 10 });
    expect(listed.map((p) => p.id)).toEqual([b, a]);
    expect(listed[0]).toMatchObject({
      state: "draft",
      createdBy: "olga",
      note: "second",
      steps: [],
    });
    expect(listed[0]?.spec.artifacts.package?.version).toBe(2);

    const pa = await getPlan(fresh.store.db, a);
    const ra = act(pa, { action: "execute", batches: [machines] }, clock);
    expect(ra.ok && (await writePatch(fresh.store.db, pa, ra.patch, clock))).toBe(true);
    expect(await activePlanOf(fresh.store.db, service)).toBe(a);
    expect(await workingPlanIds(fresh.store.db)).toContain(a);
    // The store itself refuses the second, whatever the caller checked before.
    const pb = await getPlan(fresh.store.db, b);
    const rb = act(pb, { action: "execute", batches: [machines] }, clock);
    await expect(rb.ok && writePatch(fresh.store.db, pb, rb.patch, clock)).rejects.toMatchObject({
      code: engine === "sqlite" ? "SQLITE_CONSTRAINT_UNIQUE" : "23505",
    });
    expect(
      (await listPlans(fresh.store.db, { service, state: "draft", limit: 10 })).map((p) => p.id),
    ).toEqual([b]);

    // A stale write (the plan moved on since it was read) changes nothing.
    const pausedPatch = {
      state: "paused",
      pausedFor: "operator",
      progress: pa.progress,
      error: null,
    } as const;
    expect(await writePatch(fresh.store.db, pa, pausedPatch, clock)).toBe(false);
    const abort = act(await getPlan(fresh.store.db, a), { action: "abort" }, clock);
    expect(
      abort.ok &&
        (await writePatch(fresh.store.db, await getPlan(fresh.store.db, a), abort.patch, clock)),
    ).toBe(true);
  });

  it("runs a plan batch by batch from agent reports, storing every step", async () => {
    const { service, machines } = await setup(3, () => deployment(1));
    const s = planSpec(service, {
      canaryWeight: 10,
      gate: { healthSeconds: 5, approval: false },
      batches: [{ machines: 1 }, { rest: true }],
    });
    const id = await executed(s, splitBatches(machines, s.batches));
    const ex = await executor();
    try {
      const revisions = async () =>
        (
          await fresh.store.db
            .selectFrom("machines")
            .select("desired_revision")
            .where(
              "id",
              "in",
              machines.map((m) => m.id),
            )
            .orderBy("id")
            .execute()
        ).map((r) => Number(r.desired_revision));
      const start = await revisions();
      expect(await tick(ex)).toBe(1);
      let plan = await getPlan(fresh.store.db, id);
      expect(plan.progress.batches.map((b) => b.phase)).toEqual(["deploying", "pending"]);
      expect(plan.steps).toHaveLength(1);
      const [m1, m2, m3] = machines as [MachineRef, MachineRef, MachineRef];
      expect(plan.steps[0]).toMatchObject({
        machineName: m1.name,
        action: "deploy",
        state: "running",
      });
      expect(plan.steps[0]?.before?.package.version).toBe(1);
      expect(plan.steps[0]?.revision).toBe((start[0] ?? 0) + 1);
      expect((await getDeployment(fresh.store.db, m1.id, service))?.weight).toBe(10);
      // Nothing moves before the agent reports.
      expect(await tick(ex)).toBe(0);

      clock += SEC;
      await report(m1, service);
      expect(await tick(ex)).toBe(2); // finish-steps, start-gate
      clock += 5 * SEC;
      await report(m1, service);
      expect(await tick(ex)).toBe(2); // pass-gate, start-batch
      plan = await getPlan(fresh.store.db, id);
      expect(plan.progress.current).toBe(1);
      clock += SEC;
      await report(m2, service);
      await report(m3, service);
      await report(m1, service);
      expect(await tick(ex)).toBe(2);
      clock += 5 * SEC;
      for (const m of machines) await report(m, service);
      expect(await tick(ex)).toBe(1); // succeed
      plan = await getPlan(fresh.store.db, id);
      expect(plan.state).toBe("succeeded");
      expect(plan.endedAt).toBe(clock);
      expect(plan.steps.map((st) => [st.machineName, st.state])).toEqual([
        [m1.name, "succeeded"],
        [m2.name, "succeeded"],
        [m3.name, "succeeded"],
      ]);
      for (const m of machines) {
        const d = await getDeployment(fresh.store.db, m.id, service);
        expect([d?.package.version, d?.weight]).toEqual([2, 100]);
      }
      // The canary's weight change was one more revision.
      expect(await revisions()).toEqual([
        (start[0] ?? 0) + 2,
        (start[1] ?? 0) + 1,
        (start[2] ?? 0) + 1,
      ]);
      const audit = await queryAudit(fresh.store.db, { limit: 100, action: "release.succeeded" });
      expect(audit.map((e) => e.target)).toContain(`release:${id}`);
      expect(await workingPlanIds(fresh.store.db)).not.toContain(id);
    } finally {
      await ex.stop();
    }
  });

  it("continues after the console is killed mid-batch: a new executor picks up from the store", async () => {
    const { service, machines } = await setup(2, () => deployment(1));
    const s = planSpec(service, {
      gate: { healthSeconds: 0, approval: false },
      batches: [{ machines: 1 }, { rest: true }],
    });
    const id = await executed(s, splitBatches(machines, s.batches));
    const [m1, m2] = machines as [MachineRef, MachineRef];

    // Console A starts the first batch, then dies: its connection is gone, its lease stays.
    const storeA = await openStore(fresh.url);
    const a = await executor(storeA, "killed");
    expect(await tick(a)).toBe(1);
    await storeA.close();
    await a.stop(); // only stops its timers: giving the lease back fails with the store gone
    const stepsBefore = (await getPlan(fresh.store.db, id)).steps;
    expect(stepsBefore).toHaveLength(1);

    // A new console on its own connection: the dead one's lease blocks it until it runs out.
    const store2 = await openStore(fresh.url);
    const b = await executor(store2, "restarted");
    try {
      expect(b.lease.holds()).toBe(false);
      expect(await tick(b)).toBe(0);
      clock += 16 * SEC;
      expect(await b.lease.renew()).toBe(true);
      await report(m1, service);
      // The batch already started is watched, not started again.
      expect(await tick(b)).toBeGreaterThanOrEqual(3); // finish-steps, start-gate, pass-gate, start-batch
      let plan = await getPlan(store2.db, id);
      expect(plan.steps.filter((st) => st.machineId === m1.id)).toHaveLength(1);
      expect(plan.steps[0]?.id).toBe(stepsBefore[0]?.id);
      expect(plan.progress.current).toBe(1);
      clock += SEC;
      await report(m2, service);
      await tick(b);
      plan = await getPlan(store2.db, id);
      expect(plan.state).toBe("succeeded");
      expect(plan.steps).toHaveLength(2);
    } finally {
      await b.stop();
      await store2.close();
    }
  });

  it("never applies a decision made from a stale read", async () => {
    const { service, machines } = await setup(1, () => deployment(1));
    const id = await executed(planSpec(service), [machines]);
    const stale = await getPlan(fresh.store.db, id);
    const decision = advance(stale, new Map(), clock);
    expect(decision.kind).toBe("start-batch");
    // An operator pauses between the executor's read and its write.
    const pause = act(stale, { action: "pause" }, clock);
    expect(pause.ok && (await writePatch(fresh.store.db, stale, pause.patch, clock + 1))).toBe(
      true,
    );
    const r = await applyDecision(fresh.store, stale, decision, clock + 2);
    expect(r).toEqual({ applied: false, machines: [] });
    const plan = await getPlan(fresh.store.db, id);
    expect(plan.steps).toHaveLength(0);
    expect(plan.state).toBe("paused");
    expect(
      (await getDeployment(fresh.store.db, machines[0]?.id ?? 0, service))?.package.version,
    ).toBe(1);
  });

  it("rolls a failed batch back by itself and ends failed, the old version serving", async () => {
    const { service, machines } = await setup(2, () => deployment(1));
    const id = await executed(planSpec(service), [machines]);
    const ex = await executor();
    try {
      await tick(ex);
      clock += SEC;
      const [m1, m2] = machines as [MachineRef, MachineRef];
      await report(m1, service);
      await report(m2, service, failingAgent(2));
      await tick(ex);
      let plan = await getPlan(fresh.store.db, id);
      expect(plan.state).toBe("rolling_back");
      expect(plan.error).toBe(`${m2.name}: health check failed`);
      for (const m of machines)
        expect((await getDeployment(fresh.store.db, m.id, service))?.package.version).toBe(1);
      clock += SEC;
      await report(m1, service);
      await report(m2, service, failingAgent(2));
      await tick(ex);
      plan = await getPlan(fresh.store.db, id);
      expect(plan.state).toBe("failed");
      expect(plan.progress.batches[0]?.phase).toBe("rolled_back");
      expect(plan.steps.map((st) => [st.action, st.state])).toEqual([
        ["deploy", "succeeded"],
        ["deploy", "failed"],
        ["rollback", "succeeded"],
        ["rollback", "succeeded"],
      ]);
      const audit = await queryAudit(fresh.store.db, {
        limit: 100,
        action: "release.batch_failed",
      });
      expect(audit.map((e) => e.target)).toContain(`release:${id}`);
    } finally {
      await ex.stop();
    }
  });

  it("rolls a whole plan back to exactly what each machine had, removing what it brought", async () => {
    const before = (i: number) =>
      i === 0
        ? null
        : deployment(1, { weight: 40, configs: [{ ...deployment(1).package, name: "a.conf" }] });
    const { service, machines } = await setup(2, before);
    const s = planSpec(service, {
      type: "full",
      targets: { kind: "machines", machines: machines.map((m) => m.name) },
      gate: { healthSeconds: 0, approval: false },
      batches: [{ machines: 1 }, { rest: true }],
    });
    const id = await executed(s, splitBatches(machines, s.batches));
    const ex = await executor();
    try {
      for (let i = 0; i < 4; i++) {
        await tick(ex);
        clock += SEC;
        for (const m of machines) await report(m, service);
      }
      expect((await getPlan(fresh.store.db, id)).state).toBe("succeeded");
      const plan = await getPlan(fresh.store.db, id);
      const r = act(plan, { action: "rollback" }, clock);
      expect(r.ok && (await writePatch(fresh.store.db, plan, r.patch, clock))).toBe(true);
      await tick(ex);
      const [m1, m2] = machines as [MachineRef, MachineRef];
      expect(await getDeployment(fresh.store.db, m1.id, service)).toBeNull();
      expect(await getDeployment(fresh.store.db, m2.id, service)).toEqual({
        ...before(1),
        service,
      });
      clock += SEC;
      for (const m of machines) await report(m, service);
      await tick(ex);
      const done = await getPlan(fresh.store.db, id);
      expect(done.state).toBe("rolled_back");
      expect(done.steps.filter((st) => st.action === "rollback").map((st) => st.state)).toEqual([
        "succeeded",
        "succeeded",
      ]);
    } finally {
      await ex.stop();
    }
  });

  it("works on one replica at a time", async () => {
    const { service, machines } = await setup(1, () => deployment(1));
    const id = await executed(planSpec(service), [machines]);
    const store2 = await openStore(fresh.url);
    const a = await executor(fresh.store, "replica-1");
    const b = await executor(store2, "replica-2");
    try {
      expect([a.lease.holds(), b.lease.holds()].filter(Boolean)).toHaveLength(1);
      const n = (await tick(a)) + (await tick(b));
      expect(n).toBe(1);
      expect((await getPlan(fresh.store.db, id)).steps).toHaveLength(1);
    } finally {
      await a.stop();
      await b.stop();
      await store2.close();
      // Leave no running plan behind for the other tests' executors.
      const p = await getPlan(fresh.store.db, id);
      const r = act(p, { action: "abort" }, clock);
      if (r.ok) await writePatch(fresh.store.db, p, r.patch, clock);
    }
  });
});
