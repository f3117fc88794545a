import { describe, expect, it } from "vitest";
import type { ReleaseAction, ReleaseState } from "../../core/schemas/release.js";
import { ACTION_STATES, act } from "./actions.js";
import { EMPTY_PROGRESS, type Observation, type Plan, type Step } from "./model.js";
import { advance, judgeStep } from "./plan.js";
import {
  type Agent,
  deployment,
  failingAgent,
  healthyAgent,
  machines,
  ref,
  SERVICE,
  spec,
  T0,
  World,
} from "./testing.js";

const SEC = 1000;

function step(over: Partial<Step> = {}): Step {
  return {
    id: 1,
    batch: 0,
    machineId: 1,
    machineName: "m1",
    action: "deploy",
    state: "running",
    before: deployment(1),
    after: deployment(2),
    revision: 5,
    startedAt: T0,
    endedAt: null,
    error: null,
    ...over,
  };
}

function obs(applied: number, agent: Agent = healthyAgent, d = deployment(2)): Observation {
  const svc = agent(d, undefined);
  return {
    id: 1,
    name: "m1",
    appliedRevision: applied,
    lastSeenAt: T0,
    services: svc ? [svc] : [],
  };
}

describe("judgeStep", () => {
  const judge = (s: Step, o: Observation | undefined, now = T0 + SEC) =>
    judgeStep(s, o, SERVICE, 60, now);

  it("waits until the agent has applied the step's revision", () => {
    expect(judge(step(), obs(4))).toBeNull();
  });

  it("succeeds once the new versions run healthy with no change pending", () => {
    expect(judge(step(), obs(5))).toEqual({ stepId: 1, state: "succeeded", error: null });
    expect(judge(step(), obs(9))).toEqual({ stepId: 1, state: "succeeded", error: null });
  });

  it("keeps waiting while the instance is not healthy yet or runs other versions", () => {
    const starting: Agent = (d, l) => {
      const r = healthyAgent(d, l);
      return r?.running ? { ...r, running: { ...r.running, state: "starting" } } : r;
    };
    expect(judge(step(), obs(5, starting))).toBeNull();
    expect(judge(step(), obs(5, healthyAgent, deployment(1)))).toBeNull();
  });

  it("fails with the agent's error when the change to these versions failed", () => {
    expect(judge(step(), obs(5, failingAgent(2)))).toEqual({
      stepId: 1,
      state: "failed",
      error: "health check failed",
    });
  });

  it("fails at once when the new instance crashed after the agent applied it", () => {
    const crashed: Agent = (d, l) => {
      const r = healthyAgent(d, l);
      return r?.running ? { ...r, running: { ...r.running, state: "crashed" } } : r;
    };
    expect(judge(step(), obs(5, crashed))).toEqual({
      stepId: 1,
      state: "failed",
      error: "the new instance crashed",
    });
    expect(judge(step(), obs(4, crashed))).toBeNull();
  });

  it("fails after the deploy timeout, saying what it was waiting for", () => {
    const end = judge(step(), obs(4), T0 + 60 * SEC);
    expect(end?.state).toBe("failed");
    expect(end?.error).toMatch(/^timed out after 60s \(applied revision 4 of 5\)$/);
    expect(judge(step(), obs(4), T0 + 60 * SEC - 1)).toBeNull();
  });

  it("counts the timeout from when the executor began watching (a console restart)", () => {
    const restartedAt = T0 + 50 * SEC;
    expect(judgeStep(step(), obs(4), SERVICE, 60, T0 + 100 * SEC, restartedAt)).toBeNull();
    expect(judgeStep(step(), obs(4), SERVICE, 60, T0 + 110 * SEC, restartedAt)).toMatchObject({
      state: "failed",
    });
  });

  it("a removal is done when no process runs any more", () => {
    const removal = step({ action: "rollback", before: deployment(2), after: null });
    expect(judge(removal, obs(5))).toBeNull();
    expect(judge(removal, { ...obs(5), services: [] })).toMatchObject({ state: "succeeded" });
  });

  it("fails a step whose machine was removed, and leaves ended steps alone", () => {
    expect(judge(step(), undefined)).toMatchObject({
      state: "failed",
      error: /no longer enrolled/,
    });
    expect(judge(step({ state: "succeeded" }), obs(5))).toBeNull();
  });
});

describe("act: every action in every state", () => {
  const states: ReleaseState[] = [
    "draft",
    "running",
    "paused",
    "succeeded",
    "failed",
    "aborted",
    "rolling_back",
    "rolled_back",
  ];
  const actions: ReleaseAction[] = ["execute", "pause", "resume", "abort", "rollback"];
  const allowed: Record<ReleaseAction, ReleaseState[]> = {
    execute: ["draft"],
    pause: ["running"],
    resume: ["paused"],
    abort: ["draft", "running", "paused"],
    rollback: ["succeeded", "failed", "aborted", "paused"],
  };

  for (const action of actions) {
    for (const state of states) {
      const ok = allowed[action].includes(state);
      it(`${action} a ${state} plan: ${ok ? "allowed" : "refused"}`, () => {
        const plan = { state, pausedFor: null, progress: EMPTY_PROGRESS, error: null };
        const input = action === "execute" ? { action, batches: [machines(1)] } : { action };
        const r = act(plan, input, T0);
        expect(r.ok).toBe(ok);
        expect(ACTION_STATES[action].includes(state)).toBe(ok);
        if (!r.ok) expect(r.message).toMatch(new RegExp(`^cannot ${action} an? ${state} plan$`));
      });
    }
  }

  it("says 'cannot pause a succeeded plan'", () => {
    const r = act(
      { state: "succeeded", pausedFor: null, progress: EMPTY_PROGRESS, error: null },
      { action: "pause" },
      T0,
    );
    expect(r).toEqual({ ok: false, message: "cannot pause a succeeded plan" });
  });

  it("execute stores the batches, all pending, and the start time", () => {
    const r = act(
      { state: "draft", pausedFor: null, progress: EMPTY_PROGRESS, error: null },
      { action: "execute", batches: [machines(1), machines(3).slice(1)] },
      T0,
    );
    expect(r.ok && r.patch).toMatchObject({
      state: "running",
      startedAt: T0,
      progress: {
        current: -1,
        batches: [
          { machines: [{ id: 1, name: "m1" }], phase: "pending" },
          {
            machines: [
              { id: 2, name: "m2" },
              { id: 3, name: "m3" },
            ],
            phase: "pending",
          },
        ],
      },
    });
  });
});

describe("advance: a plan's life", () => {
  it("runs batch after batch, each through its health gate, with canary weight until the end", () => {
    const w = new World(
      machines(4),
      spec({ batches: [{ machines: 1 }, { rest: true }], canaryWeight: 10 }),
    );
    w.execute([machines(1), machines(4).slice(1)]);
    expect(w.run()).toEqual(["start-batch"]);
    expect(w.deployments.get(1)?.weight).toBe(10);
    expect(w.packageOn(2)).toBe(1);
    expect(w.tick(SEC)).toEqual(["finish-steps", "start-gate"]);
    expect(w.plan.progress.gate?.until).toBe(T0 + 11 * SEC);
    // The gate holds for 10 s: not a moment less.
    expect(w.tick(9 * SEC)).toEqual([]);
    expect(w.plan.progress.batches[0]?.phase).toBe("gate");
    expect(w.tick(SEC)).toEqual(["pass-gate", "start-batch"]);
    expect([2, 3, 4].map((id) => w.deployments.get(id)?.weight)).toEqual([100, 100, 100]);
    expect(w.tick(SEC)).toEqual(["finish-steps", "start-gate"]);
    expect(w.tick(10 * SEC)).toEqual(["succeed"]);
    expect(w.plan.state).toBe("succeeded");
    expect([1, 2, 3, 4].map((id) => w.packageOn(id))).toEqual([2, 2, 2, 2]);
    // The canary got its full weight back.
    expect(w.deployments.get(1)?.weight).toBe(100);
    expect(w.plan.progress.batches.map((b) => b.phase)).toEqual(["done", "done"]);
  });

  it("passes a zero-second gate at once", () => {
    const w = new World(machines(1), spec({ gate: { healthSeconds: 0, approval: false } }));
    w.execute();
    w.run();
    expect(w.tick(SEC)).toEqual(["finish-steps", "start-gate", "succeed"]);
  });

  it("waits for approval after each batch but the last", () => {
    const w = new World(machines(3), spec({ gate: { healthSeconds: 0, approval: true } }));
    w.execute([[{ id: 1, name: "m1" }], [{ id: 2, name: "m2" }], [{ id: 3, name: "m3" }]]);
    w.run();
    w.tick(SEC);
    expect(w.plan).toMatchObject({ state: "paused", pausedFor: "approval" });
    expect(w.plan.progress.batches[0]?.phase).toBe("approval");
    expect(w.tick(60 * SEC)).toEqual([]);
    w.act({ action: "resume" });
    expect(w.plan.progress.batches[0]?.phase).toBe("done");
    expect(w.run()).toEqual(["start-batch"]);
    w.tick(SEC);
    expect(w.plan.pausedFor).toBe("approval");
    w.act({ action: "resume" });
    w.run();
    w.tick(SEC);
    expect(w.plan.state).toBe("succeeded");
  });

  it("rolls a batch whose deploy failed back by itself, and ends failed; earlier batches stay", () => {
    const w = new World(machines(3), spec({ gate: { healthSeconds: 0, approval: false } }));
    w.execute([
      [{ id: 1, name: "m1" }],
      [
        { id: 2, name: "m2" },
        { id: 3, name: "m3" },
      ],
    ]);
    w.run();
    w.tick(SEC); // batch 1 done, batch 2 started
    expect(w.plan.progress.current).toBe(1);
    w.agents.set(3, failingAgent(2));
    expect(w.tick(SEC)).toEqual(["finish-steps", "rollback-batch"]);
    expect(w.plan.state).toBe("rolling_back");
    expect(w.plan.error).toBe("m3: health check failed");
    expect(w.packageOn(3)).toBe(1);
    expect(w.packageOn(2)).toBe(1);
    expect(w.tick(SEC)).toEqual(["finish-steps", "end"]);
    expect(w.plan).toMatchObject({ state: "failed", error: "m3: health check failed" });
    expect(w.plan.progress.batches.map((b) => b.phase)).toEqual(["done", "rolled_back"]);
    // The first batch keeps the new version.
    expect(w.packageOn(1)).toBe(2);
    const rollbacks = w.plan.steps.filter((s) => s.action === "rollback");
    expect(rollbacks.map((s) => [s.machineName, s.state])).toEqual([
      ["m2", "succeeded"],
      ["m3", "succeeded"],
    ]);
  });

  it("cancels the batch's steps still in flight when one fails", () => {
    const w = new World(machines(2), spec());
    w.execute();
    w.run();
    w.agents.set(1, failingAgent(2));
    w.now += SEC;
    w.report(1); // m2's agent stays silent
    expect(w.run()).toEqual(["finish-steps", "rollback-batch"]);
    const m2 = w.plan.steps.find((s) => s.machineName === "m2" && s.action === "deploy");
    expect(m2).toMatchObject({ state: "failed", error: "cancelled: the batch is rolled back" });
  });

  it("fails the gate when an instance turns unhealthy, and rolls the batch back", () => {
    const w = new World(machines(2), spec());
    w.execute();
    w.run();
    w.tick(SEC);
    expect(w.plan.progress.batches[0]?.phase).toBe("gate");
    w.agents.set(2, (d, l) => {
      const r = healthyAgent(d, l);
      return r?.running && d?.package.version === 2
        ? { ...r, running: { ...r.running, state: "crashed" } }
        : r;
    });
    expect(w.tick(5 * SEC)).toEqual(["rollback-batch"]);
    expect(w.plan.error).toBe("health gate failed: m2: the instance is crashed");
    w.until(["failed"]);
    expect([w.packageOn(1), w.packageOn(2)]).toEqual([1, 1]);
  });

  it("fails the gate when the restart counter grows", () => {
    const w = new World(machines(1), spec());
    w.execute();
    w.run();
    w.tick(SEC);
    let restarts = 0;
    w.agents.set(1, (d, l) => {
      const r = healthyAgent(d, l);
      return r?.running ? { ...r, running: { ...r.running, restarts } } : r;
    });
    w.tick(SEC);
    expect(w.plan.state).toBe("running");
    restarts = 1;
    expect(w.tick(SEC)).toEqual(["rollback-batch"]);
    expect(w.plan.error).toMatch(/m1: the instance restarted during the health gate/);
  });

  it("fails the gate when the agent stops reporting", () => {
    const w = new World(machines(1), spec({ gate: { healthSeconds: 60, approval: false } }));
    w.execute();
    w.run();
    w.tick(SEC);
    w.now += 31 * SEC;
    expect(w.run()).toEqual(["rollback-batch"]);
    expect(w.plan.error).toMatch(/m1: no report from its agent for 30s/);
  });

  it("does not blame agents for the silence while no console ran", () => {
    const w = new World(machines(1), spec({ gate: { healthSeconds: 60, approval: false } }));
    w.execute();
    w.run();
    w.tick(SEC);
    // The console was down for 5 minutes; a new one took over just now.
    w.now += 300 * SEC;
    const restarted = w.now;
    expect(advance(w.plan, w.obs, w.now, restarted)).toEqual({ kind: "wait" });
    expect(advance(w.plan, w.obs, w.now + 31 * SEC, restarted).kind).toBe("rollback-batch");
    w.reportAll();
    expect(advance(w.plan, w.obs, w.now, restarted)).toMatchObject({ kind: "succeed" });
  });

  it("times a silent machine out and rolls the batch back", () => {
    const w = new World(machines(1), spec({ deployTimeoutSeconds: 60 }));
    w.execute();
    w.run();
    w.now += 59 * SEC;
    expect(w.run()).toEqual([]);
    w.now += SEC;
    expect(w.run()).toEqual(["finish-steps", "rollback-batch"]);
    expect(w.plan.error).toMatch(/^m1: timed out after 60s/);
    w.until(["failed"]);
  });

  it("ends failed, saying so, when the rollback itself fails", () => {
    const w = new World(machines(1), spec({ deployTimeoutSeconds: 60 }));
    w.execute();
    w.run();
    w.now += 60 * SEC; // the agent never answers: deploy and rollback time out
    w.run();
    w.now += 60 * SEC;
    expect(w.run()).toEqual(["finish-steps", "end"]);
    expect(w.plan.state).toBe("failed");
    expect(w.plan.error).toMatch(/^m1: timed out after 60s.*; rollback failed: m1: timed out/);
    expect(w.plan.progress.batches[0]?.phase).toBe("failed");
  });
});

describe("advance: pause, resume, abort", () => {
  it("pause starts nothing new but still records steps in flight", () => {
    const w = new World(machines(2), spec({ gate: { healthSeconds: 0, approval: false } }));
    w.execute([[{ id: 1, name: "m1" }], [{ id: 2, name: "m2" }]]);
    w.run();
    w.act({ action: "pause" });
    expect(w.tick(SEC)).toEqual(["finish-steps"]);
    expect(w.plan.steps[0]?.state).toBe("succeeded");
    expect(w.tick(60 * SEC)).toEqual([]);
    expect(w.packageOn(2)).toBe(1);
    w.act({ action: "resume" });
    expect(w.run()).toEqual(["start-gate", "pass-gate", "start-batch"]);
    w.until(["succeeded"]);
  });

  it("a pause during a health gate runs the gate again in full after resume", () => {
    const w = new World(machines(1), spec());
    w.execute();
    w.run();
    w.tick(SEC);
    w.tick(8 * SEC);
    w.act({ action: "pause" });
    w.tick(30 * SEC);
    w.act({ action: "resume" });
    expect(w.plan.progress.batches[0]?.phase).toBe("deploying");
    expect(w.run()).toEqual(["start-gate"]);
    expect(w.plan.progress.gate?.until).toBe(w.now + 10 * SEC);
    expect(w.tick(9 * SEC)).toEqual([]);
    expect(w.tick(SEC)).toEqual(["succeed"]);
  });

  it("a deploy that failed while paused rolls its batch back on resume", () => {
    const w = new World(machines(1), spec());
    w.execute();
    w.run();
    w.act({ action: "pause" });
    w.agents.set(1, failingAgent(2));
    expect(w.tick(SEC)).toEqual(["finish-steps"]);
    expect(w.plan.state).toBe("paused");
    w.act({ action: "resume" });
    expect(w.run()).toEqual(["rollback-batch"]);
  });

  it("abort starts no further batch; steps in flight finish and are recorded", () => {
    const w = new World(machines(2), spec());
    w.execute([[{ id: 1, name: "m1" }], [{ id: 2, name: "m2" }]]);
    w.run();
    w.act({ action: "abort" });
    expect(w.plan.state).toBe("aborted");
    expect(w.tick(SEC)).toEqual(["finish-steps"]);
    expect(w.plan.steps[0]?.state).toBe("succeeded");
    expect(w.tick(60 * SEC)).toEqual([]);
    expect([w.packageOn(1), w.packageOn(2)]).toEqual([2, 1]);
    expect(w.plan.state).toBe("aborted");
  });
});

describe("advance: rollback of the whole plan", () => {
  it("returns every machine to exactly what it had before the plan, across batches", () => {
    // Three machines that started out different, and a config release over two batches.
    const before = new Map([
      [1, deployment(1, { configs: [ref(1, "app.conf")], weight: 70 })],
      [2, deployment(3, { configs: [ref(1, "app.conf"), ref(2, "db.conf")] })],
      [3, deployment(1, { configs: [ref(4, "app.conf")], libs: [ref(9)] })],
    ]);
    const w = new World(
      machines(3),
      spec({
        type: "config",
        versions: { configs: [5] },
        artifacts: { configs: [ref(5, "app.conf")] },
        canaryWeight: 5,
        gate: { healthSeconds: 0, approval: false },
      }),
      (m) => before.get(m.id) ?? null,
    );
    w.execute([
      [{ id: 1, name: "m1" }],
      [
        { id: 2, name: "m2" },
        { id: 3, name: "m3" },
      ],
    ]);
    w.until(["succeeded"]);
    expect(w.deployments.get(2)?.configs).toEqual([ref(2, "db.conf"), ref(5, "app.conf")]);
    w.act({ action: "rollback" });
    expect(w.plan.state).toBe("rolling_back");
    expect(w.run()).toEqual(["start-rollback"]);
    for (const [id, d] of before) expect(w.deployments.get(id)).toEqual(d);
    w.until(["rolled_back", "failed"]);
    expect(w.plan.state).toBe("rolled_back");
    expect(w.plan.progress.batches.map((b) => b.phase)).toEqual(["rolled_back", "rolled_back"]);
    for (const [id, d] of before) expect(w.deployments.get(id)).toEqual(d);
  });

  it("removes the service from machines the plan brought it to", () => {
    const w = new World(
      machines(1),
      spec({ type: "full", gate: { healthSeconds: 0, approval: false } }),
      () => null,
    );
    w.execute();
    w.until(["succeeded"]);
    expect(w.packageOn(1)).toBe(2);
    w.act({ action: "rollback" });
    w.run();
    expect(w.deployments.get(1)).toBeNull();
    const last = w.plan.steps.at(-1);
    expect(last).toMatchObject({ action: "rollback", after: null });
    w.until(["rolled_back"]);
  });

  it("rolls back a paused plan, ending the steps still in flight", () => {
    const w = new World(machines(2), spec());
    w.execute();
    w.run();
    w.act({ action: "pause" });
    w.act({ action: "rollback" });
    expect(w.run()).toEqual(["start-rollback"]);
    expect(w.plan.steps.filter((s) => s.action === "deploy").map((s) => s.error)).toEqual([
      "cancelled: the plan is rolled back",
      "cancelled: the plan is rolled back",
    ]);
    w.until(["rolled_back"]);
    expect([w.packageOn(1), w.packageOn(2)]).toEqual([1, 1]);
  });

  it("rolls back a failed plan's earlier batches too, and keeps the failure's reason", () => {
    const w = new World(machines(2), spec({ gate: { healthSeconds: 0, approval: false } }));
    w.execute([[{ id: 1, name: "m1" }], [{ id: 2, name: "m2" }]]);
    w.agents.set(2, failingAgent(2));
    w.run();
    w.until(["failed"]);
    expect(w.packageOn(1)).toBe(2);
    w.act({ action: "rollback" });
    w.until(["rolled_back"]);
    expect([w.packageOn(1), w.packageOn(2)]).toEqual([1, 1]);
    expect(w.plan.error).toBe("m2: health check failed");
  });

  it("an aborted plan that touched nothing rolls back at once", () => {
    const w = new World(machines(1), spec());
    w.execute();
    w.act({ action: "abort" });
    w.act({ action: "rollback" });
    expect(w.run()).toEqual(["start-rollback", "end"]);
    expect(w.plan.state).toBe("rolled_back");
  });
});

describe("advance: idle states", () => {
  it("does nothing for settled plans with no step in flight", () => {
    for (const state of [
      "draft",
      "succeeded",
      "failed",
      "aborted",
      "rolled_back",
      "paused",
    ] as const) {
      const plan: Plan = {
        id: 1,
        service: SERVICE,
        state,
        pausedFor: null,
        spec: spec(),
        progress: EMPTY_PROGRESS,
        steps: [],
        error: null,
      };
      expect(advance(plan, new Map(), T0)).toEqual({ kind: "wait" });
    }
  });
});
