import { describe, expect, it } from "vitest";
import type { BatchSize } from "../../core/schemas/release.js";
import type { MachineRef } from "./model.js";
import { type Fleet, nextDeployment, resolveTargets, splitBatches } from "./targets.js";
import { deployment, machines, ref, SERVICE, spec } from "./testing.js";

const names = (ms: readonly MachineRef[]) => ms.map((m) => m.name);
const sizes = (batches: readonly MachineRef[][]) => batches.map((b) => b.length);

describe("splitBatches", () => {
  const ten = machines(10);
  const split = (s: BatchSize[], ms = ten) => sizes(splitBatches(ms, s));

  it("takes a number of machines, a percentage of all targets (rounded up), then the rest", () => {
    expect(split([{ machines: 1 }, { percent: 10 }, { rest: true }])).toEqual([1, 1, 8]);
    expect(split([{ percent: 25 }, { percent: 25 }, { rest: true }])).toEqual([3, 3, 4]);
    expect(split([{ rest: true }])).toEqual([10]);
  });

  it("gives a percentage at least one machine", () => {
    expect(split([{ percent: 1 }, { rest: true }], machines(3))).toEqual([1, 2]);
  });

  it("drops empty trailing batches and caps a batch at what is left", () => {
    expect(split([{ machines: 5 }, { machines: 20 }, { rest: true }])).toEqual([5, 5]);
    expect(split([{ rest: true }, { machines: 1 }])).toEqual([10]);
    expect(split([{ machines: 1 }, { rest: true }], machines(1))).toEqual([1]);
  });

  it("puts machines left over after the last size in one more batch", () => {
    expect(split([{ machines: 1 }, { percent: 20 }])).toEqual([1, 2, 7]);
  });

  it("keeps the order of the targets", () => {
    const b = splitBatches(ten, [{ machines: 2 }, { rest: true }]);
    expect(names(b[0] ?? [])).toEqual(["m1", "m2"]);
    expect(names(b[1] ?? [])[0]).toBe("m3");
  });
});

describe("resolveTargets", () => {
  const fleet: Fleet = {
    machines: [
      { id: 1, name: "a1", labels: { zone: "sz", tier: "web" } },
      { id: 2, name: "b2", labels: { zone: "sz" } },
      { id: 3, name: "c3", labels: { zone: "gz" } },
      { id: 4, name: "d4", labels: {} },
    ],
    running: [
      { id: 3, name: "c3" },
      { id: 1, name: "a1" },
      { id: 2, name: "b2" },
    ],
  };

  it("finds named machines, once each, in the order given", () => {
    const r = resolveTargets(
      spec({ type: "full", targets: { kind: "machines", machines: ["d4", "a1", "d4"] } }),
      fleet,
    );
    expect(r).toEqual({
      ok: true,
      machines: [
        { id: 4, name: "d4" },
        { id: 1, name: "a1" },
      ],
    });
  });

  it("names the unknown machine's position", () => {
    const r = resolveTargets(
      spec({ type: "full", targets: { kind: "machines", machines: ["a1", "zz"] } }),
      fleet,
    );
    expect(r).toEqual({ ok: false, field: "targets.machines.1", message: 'no machine named "zz"' });
  });

  it("takes a percentage of the machines that run the service, rounded up, by name", () => {
    const r = resolveTargets(spec({ targets: { kind: "percent", percent: 50 } }), fleet);
    expect(r.ok && names(r.machines)).toEqual(["a1", "b2"]);
    const one = resolveTargets(spec({ targets: { kind: "percent", percent: 1 } }), fleet);
    expect(one.ok && names(one.machines)).toEqual(["a1"]);
  });

  it("refuses a percentage of a service no machine runs", () => {
    const r = resolveTargets(spec({ targets: { kind: "percent", percent: 50 } }), {
      machines: fleet.machines,
      running: [],
    });
    expect(r).toMatchObject({ ok: false, field: "targets.percent" });
  });

  it("selects by labels (all must match) and refuses when none does", () => {
    const r = resolveTargets(spec({ targets: { kind: "labels", labels: { zone: "sz" } } }), fleet);
    expect(r.ok && names(r.machines)).toEqual(["a1", "b2"]);
    const both = resolveTargets(
      spec({ targets: { kind: "labels", labels: { zone: "sz", tier: "web" } } }),
      fleet,
    );
    expect(both.ok && names(both.machines)).toEqual(["a1"]);
    const none = resolveTargets(
      spec({ targets: { kind: "labels", labels: { zone: "bj" } } }),
      fleet,
    );
    expect(none).toEqual({
      ok: false,
      field: "targets.labels",
      message: "no machine has labels zone=bj",
    });
  });

  it("needs the service on every target except for a full release", () => {
    const targets = { kind: "machines" as const, machines: ["a1", "d4"] };
    for (const type of ["code", "config", "libs"] as const) {
      const r = resolveTargets(spec({ type, targets }), fleet);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.message).toMatch(/machine "d4" does not run Demo\.Echo/);
    }
    expect(resolveTargets(spec({ type: "full", targets }), fleet).ok).toBe(true);
  });
});

describe("nextDeployment", () => {
  const current = deployment(1, {
    configs: [ref(1, "app.conf"), ref(2, "db.conf")],
    libs: [ref(1)],
    plugins: [ref(4)],
    weight: 100,
  });

  it("full: replaces the package and the sets it names, keeps the others", () => {
    const r = nextDeployment(
      current,
      spec({ type: "full", artifacts: { package: ref(5), libs: [ref(2)] } }),
      30,
    );
    expect(r.ok && r.deployment).toEqual({
      ...current,
      package: ref(5),
      libs: [ref(2)],
      weight: 30,
    });
  });

  it("full: brings a service to a machine that had none", () => {
    const r = nextDeployment(
      null,
      spec({ type: "full", artifacts: { package: ref(5), configs: [ref(3, "app.conf")] } }),
      100,
    );
    expect(r.ok && r.deployment).toEqual({
      service: SERVICE,
      package: ref(5),
      configs: [ref(3, "app.conf")],
      libs: [],
      plugins: [],
      weight: 100,
    });
  });

  it("code: only the package", () => {
    const r = nextDeployment(current, spec({ type: "code", artifacts: { package: ref(7) } }), 100);
    expect(r.ok && r.deployment).toEqual({ ...current, package: ref(7) });
  });

  it("config: replaces config files by name, keeps the other files", () => {
    const r = nextDeployment(
      current,
      spec({ type: "config", artifacts: { configs: [ref(9, "db.conf"), ref(10, "new.conf")] } }),
      100,
    );
    expect(r.ok && r.deployment.configs).toEqual([
      ref(1, "app.conf"),
      ref(9, "db.conf"),
      ref(10, "new.conf"),
    ]);
    expect(r.ok && r.deployment.package).toEqual(current.package);
  });

  it("libs: the lib and/or plugin set it names", () => {
    const r = nextDeployment(
      current,
      spec({ type: "libs", artifacts: { plugins: [ref(5)] } }),
      100,
    );
    expect(r.ok && r.deployment).toEqual({ ...current, plugins: [ref(5)] });
  });

  it("cannot change a service that is not there", () => {
    const r = nextDeployment(null, spec({ type: "code" }), 100);
    expect(r).toEqual({ ok: false, error: "Demo.Echo is not deployed there any more" });
  });
});
