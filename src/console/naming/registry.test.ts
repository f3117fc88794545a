import { describe, expect, it } from "vitest";
import type { RegisterInstanceRequest } from "../../core/schemas/naming.js";
import {
  emptyRegistry,
  findInstance,
  heartbeat,
  isExpired,
  planSweep,
  putInstance,
  putService,
  type Registry,
  registration,
  removeInstance,
  removeService,
  summaryOf,
  sweep,
  viewOf,
  withDisabled,
  withWeightOverride,
} from "./registry.js";

const T0 = 1_700_000_000_000;
const SVC = "Demo.Echo";
const POLICY = { threshold: 0.5, windowMs: 60_000 };

function req(addr: string, over: Partial<RegisterInstanceRequest> = {}): RegisterInstanceRequest {
  return { addr, weight: 100, labels: {}, ttlSeconds: 10, ...over };
}

function register(
  reg: Registry,
  addr: string,
  now: number,
  over: Partial<RegisterInstanceRequest> = {},
) {
  return putInstance(reg, registration(reg, SVC, req(addr, over), now));
}

function addrs(reg: Registry): string[] {
  return viewOf(reg, SVC).instances.map((i) => i.addr);
}

describe("registry: registration", () => {
  it("creates the service on first registration and lists the instance", () => {
    const reg = emptyRegistry();
    expect(register(reg, "10.0.0.1:80", T0).changed).toBe(true);
    const v = viewOf(reg, SVC);
    expect(v.instances).toEqual([
      {
        service: SVC,
        addr: "10.0.0.1:80",
        weight: 100,
        labels: {},
        health: "healthy",
        disabled: false,
        registeredAt: new Date(T0).toISOString(),
        lastSeenAt: new Date(T0).toISOString(),
        protected: false,
      },
    ]);
    expect(reg.services.get(SVC)?.createdAt).toBe(T0);
  });

  it("keeps an operator's weight override and disabled flag across re-registration", () => {
    const reg = emptyRegistry();
    register(reg, "10.0.0.1:80", T0, { weight: 100 });
    const inst = findInstance(reg, SVC, "10.0.0.1:80");
    if (!inst) throw new Error("missing");
    putInstance(reg, withDisabled(withWeightOverride(inst, 7), true));
    register(reg, "10.0.0.1:80", T0 + 1000, { weight: 300, labels: { version: "2" } });
    const [view] = viewOf(reg, SVC).instances;
    expect(view).toMatchObject({ weight: 7, disabled: true, labels: { version: "2" } });
    expect(view?.registeredAt).toBe(new Date(T0).toISOString());
    expect(findInstance(reg, SVC, "10.0.0.1:80")?.weight).toBe(300);
    // Clearing the override shows the registered weight again.
    const again = findInstance(reg, SVC, "10.0.0.1:80");
    if (!again) throw new Error("missing");
    putInstance(reg, withWeightOverride(again, null));
    expect(viewOf(reg, SVC).instances[0]?.weight).toBe(300);
  });

  it("gives an unknown name an empty view at revision 0", () => {
    expect(viewOf(emptyRegistry(), "No.Such")).toEqual({
      name: "No.Such",
      revision: 0,
      protected: false,
      instances: [],
    });
  });

  it("counts serving instances in the summary", () => {
    const reg = emptyRegistry();
    register(reg, "10.0.0.1:80", T0);
    register(reg, "10.0.0.2:80", T0);
    register(reg, "10.0.0.3:80", T0);
    heartbeat(reg, [{ service: SVC, addr: "10.0.0.2:80", health: "draining" }], T0);
    const third = findInstance(reg, SVC, "10.0.0.3:80");
    if (!third) throw new Error("missing");
    putInstance(reg, withDisabled(third, true));
    const svc = reg.services.get(SVC);
    if (!svc) throw new Error("missing");
    expect(summaryOf(svc)).toMatchObject({ name: SVC, instances: 3, healthy: 1 });
  });
});

describe("registry: revisions", () => {
  it("grow on every change of the list, not on a mere heartbeat", () => {
    const reg = emptyRegistry();
    const revs: number[] = [];
    const rev = () => viewOf(reg, SVC).revision;
    register(reg, "10.0.0.1:80", T0);
    revs.push(rev());
    register(reg, "10.0.0.2:80", T0);
    revs.push(rev());

    // Heartbeats with unchanged health, and an identical re-registration, change nothing.
    heartbeat(reg, [{ service: SVC, addr: "10.0.0.1:80", health: "healthy" }], T0 + 500);
    expect(rev()).toBe(revs.at(-1));
    expect(register(reg, "10.0.0.1:80", T0 + 600).changed).toBe(false);
    expect(rev()).toBe(revs.at(-1));

    const beat = heartbeat(
      reg,
      [{ service: SVC, addr: "10.0.0.1:80", health: "draining" }],
      T0 + 700,
    );
    expect([...beat.changed]).toEqual([SVC]);
    revs.push(rev());
    const inst = () => {
      const i = findInstance(reg, SVC, "10.0.0.1:80");
      if (!i) throw new Error("missing");
      return i;
    };
    putInstance(reg, withWeightOverride(inst(), 5));
    revs.push(rev());
    putInstance(reg, withDisabled(inst(), true));
    revs.push(rev());
    putInstance(reg, withDisabled(inst(), false));
    revs.push(rev());
    register(reg, "10.0.0.1:80", T0 + 800, { labels: { zone: "sz" } });
    revs.push(rev());
    removeInstance(reg, SVC, "10.0.0.2:80", T0 + 900, false);
    revs.push(rev());
    for (let i = 1; i < revs.length; i++) expect(revs[i]).toBeGreaterThan(revs[i - 1] ?? 0);
  });

  it("grow on eviction and on a protected flag change", () => {
    const reg = emptyRegistry();
    register(reg, "10.0.0.1:80", T0);
    register(reg, "10.0.0.2:80", T0 + 1);
    const r0 = viewOf(reg, SVC).revision;
    sweep(reg, T0 + 11_000, POLICY); // both expired: evict one, protect one
    const r1 = viewOf(reg, SVC).revision;
    expect(r1).toBeGreaterThan(r0);
    sweep(reg, T0 + 12_000, POLICY); // nothing changes
    expect(viewOf(reg, SVC).revision).toBe(r1);
    heartbeat(reg, [{ service: SVC, addr: "10.0.0.2:80", health: "healthy" }], T0 + 13_000);
    expect(viewOf(reg, SVC).revision).toBeGreaterThan(r1);
  });

  it("never reuse a number after a service is deleted and created again", () => {
    const reg = emptyRegistry(1000);
    register(reg, "10.0.0.1:80", T0);
    const before = viewOf(reg, SVC).revision;
    expect(before).toBeGreaterThan(1000);
    removeService(reg, SVC);
    const deleted = viewOf(reg, SVC);
    expect(deleted.instances).toEqual([]);
    expect(deleted.revision).toBeGreaterThan(before);
    putService(reg, { name: SVC, description: "", createdAt: T0 });
    expect(viewOf(reg, SVC).revision).toBeGreaterThan(deleted.revision);
  });
});

describe("registry: TTL and eviction", () => {
  it("expires an instance once lastSeen + ttl has passed, and a heartbeat renews it", () => {
    const reg = emptyRegistry();
    register(reg, "10.0.0.1:80", T0, { ttlSeconds: 10 });
    const inst = findInstance(reg, SVC, "10.0.0.1:80");
    if (!inst) throw new Error("missing");
    expect(isExpired(inst, T0 + 10_000)).toBe(false);
    expect(isExpired(inst, T0 + 10_001)).toBe(true);
    heartbeat(reg, [{ service: SVC, addr: "10.0.0.1:80", health: "healthy" }], T0 + 9_000);
    expect(isExpired(inst, T0 + 10_001)).toBe(false);
  });

  it("evicts expired instances while enough live ones remain", () => {
    const reg = emptyRegistry();
    for (const a of ["10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80", "10.0.0.4:80"])
      register(reg, a, T0);
    heartbeat(
      reg,
      ["10.0.0.2:80", "10.0.0.3:80", "10.0.0.4:80"].map((addr) => ({
        service: SVC,
        addr,
        health: "healthy" as const,
      })),
      T0 + 5_000,
    );
    const out = sweep(reg, T0 + 11_000, POLICY);
    expect(out[0]?.evicted.map((i) => i.addr)).toEqual(["10.0.0.1:80"]);
    expect(addrs(reg)).toEqual(["10.0.0.2:80", "10.0.0.3:80", "10.0.0.4:80"]);
    expect(viewOf(reg, SVC).protected).toBe(false);
  });

  it("tells an evicted instance's heartbeat to re-register", () => {
    const reg = emptyRegistry();
    register(reg, "10.0.0.1:80", T0);
    register(reg, "10.0.0.2:80", T0 + 5_000);
    sweep(reg, T0 + 11_000, POLICY);
    const r = heartbeat(
      reg,
      [
        { service: SVC, addr: "10.0.0.1:80", health: "healthy" },
        { service: "No.Such", addr: "10.0.0.9:80", health: "healthy" },
      ],
      T0 + 12_000,
    );
    expect(r.unknown).toEqual([
      { service: SVC, addr: "10.0.0.1:80" },
      { service: "No.Such", addr: "10.0.0.9:80" },
    ]);
  });
});

describe("registry: protection", () => {
  const four = ["10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80", "10.0.0.4:80"];

  function fourExpiring(): Registry {
    const reg = emptyRegistry();
    // Seen at T0, T0+1s, T0+2s, T0+3s: .4 is the most recently seen.
    four.forEach((a, i) => {
      register(reg, a, T0 + i * 1000);
    });
    return reg;
  }

  it("keeps half when all four expire: the most recently seen, flagged protected", () => {
    const reg = fourExpiring();
    const now = T0 + 20_000;
    const out = sweep(reg, now, POLICY);
    expect(out[0]?.evicted.map((i) => i.addr)).toEqual(["10.0.0.1:80", "10.0.0.2:80"]);
    expect(out[0]?.protectionChanged).toBe(true);
    const v = viewOf(reg, SVC);
    expect(v.instances.map((i) => [i.addr, i.protected])).toEqual([
      ["10.0.0.3:80", true],
      ["10.0.0.4:80", true],
    ]);
    expect(v.protected).toBe(true);
  });

  it("evicts none in the next rounds until the window passes, then decays, never to zero", () => {
    const reg = fourExpiring();
    const t1 = T0 + 20_000;
    sweep(reg, t1, POLICY);
    // Baseline is 2 listed + 2 evicted in the window: the floor is 2.
    for (let t = t1 + 1000; t < t1 + POLICY.windowMs; t += 1000) {
      const out = sweep(reg, t, POLICY);
      expect(out.flatMap((o) => o.evicted)).toEqual([]);
      expect(addrs(reg)).toHaveLength(2);
    }
    // The evictions leave the window: baseline 2, floor 1 — the older one goes.
    const t2 = t1 + POLICY.windowMs;
    expect(sweep(reg, t2, POLICY)[0]?.evicted.map((i) => i.addr)).toEqual(["10.0.0.3:80"]);
    expect(addrs(reg)).toEqual(["10.0.0.4:80"]);
    // Forever after, the last one stays.
    for (let k = 1; k <= 5; k++) {
      sweep(reg, t2 + k * (POLICY.windowMs + 1), POLICY);
      expect(addrs(reg)).toEqual(["10.0.0.4:80"]);
      expect(viewOf(reg, SVC).instances[0]?.protected).toBe(true);
    }
  });

  it("keeps a lone expired instance", () => {
    const reg = emptyRegistry();
    register(reg, "10.0.0.1:80", T0);
    sweep(reg, T0 + 60_000, POLICY);
    expect(addrs(reg)).toEqual(["10.0.0.1:80"]);
  });

  it("makes a protected instance simply live again when it beats", () => {
    const reg = fourExpiring();
    sweep(reg, T0 + 20_000, POLICY);
    const r = heartbeat(
      reg,
      [{ service: SVC, addr: "10.0.0.3:80", health: "healthy" }],
      T0 + 21_000,
    );
    expect(r.revived.map((i) => i.addr)).toEqual(["10.0.0.3:80"]);
    const v = viewOf(reg, SVC);
    expect(v.instances.map((i) => [i.addr, i.protected])).toEqual([
      ["10.0.0.3:80", false],
      ["10.0.0.4:80", true],
    ]);
    expect(v.protected).toBe(true);
  });

  it("counts live instances towards the floor and evicts only expired ones", () => {
    const reg = fourExpiring();
    heartbeat(reg, [{ service: SVC, addr: "10.0.0.1:80", health: "healthy" }], T0 + 15_000);
    const svc = reg.services.get(SVC);
    if (!svc) throw new Error("missing");
    const plan = planSweep(svc, T0 + 20_000, POLICY);
    expect(plan.floor).toBe(2);
    expect(plan.evict.map((i) => i.addr)).toEqual(["10.0.0.2:80", "10.0.0.3:80"]);
    expect(plan.keep.map((i) => i.addr)).toEqual(["10.0.0.4:80"]);
  });

  it("does not protect against graceful deregistration", () => {
    const reg = fourExpiring();
    for (const a of four) expect(removeInstance(reg, SVC, a, T0 + 100, false)).toBeDefined();
    expect(addrs(reg)).toEqual([]);
    // And deregistrations do not count towards the baseline.
    register(reg, "10.0.0.5:80", T0 + 200);
    register(reg, "10.0.0.6:80", T0 + 300);
    const svc = reg.services.get(SVC);
    if (!svc) throw new Error("missing");
    expect(planSweep(svc, T0 + 20_000, POLICY)).toMatchObject({ baseline: 2, floor: 1 });
  });

  it("takes the threshold from the policy", () => {
    const reg = fourExpiring();
    sweep(reg, T0 + 20_000, { threshold: 0.25, windowMs: 60_000 });
    expect(addrs(reg)).toEqual(["10.0.0.4:80"]);
  });
});
