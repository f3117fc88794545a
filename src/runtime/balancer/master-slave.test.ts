import { describe, expect, it } from "vitest";
import { createBalancer, ejectedEndpoints, pick, setEndpoints } from "./balancer.js";
import { recordOutcome } from "./stats.js";
import { mulberry32 } from "./testing.js";
import type { BalancerState, Endpoint } from "./types.js";

const MS = { kind: "master-slave" } as const;
const ep = (addr: string, role?: string, weight = 100): Endpoint => ({
  addr,
  weight,
  labels: role === undefined ? {} : { role },
});

function counts(
  lb: BalancerState,
  n: number,
  now: number,
  rand: () => number,
  exclude?: ReadonlySet<string>,
) {
  const c = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const a = pick(lb, exclude ? { mode: MS, now, rand, exclude } : { mode: MS, now, rand });
    if (a !== undefined) c.set(a, (c.get(a) ?? 0) + 1);
  }
  return c;
}
const orderOf = (lb: BalancerState) => lb.masterOrder.map((i) => lb.endpoints[i]?.addr);

describe("master/slave: who is master", () => {
  it("is the role=master endpoint, then role=slave, then the rest by address", () => {
    const lb = createBalancer();
    setEndpoints(
      lb,
      [ep("10.0.0.1:1"), ep("10.0.0.9:1", "master"), ep("10.0.0.5:1", "slave"), ep("10.0.0.3:1")],
      0,
    );
    expect(orderOf(lb)).toEqual(["10.0.0.9:1", "10.0.0.5:1", "10.0.0.1:1", "10.0.0.3:1"]);
  });

  it("without labels is the first by address, the slave the next", () => {
    const lb = createBalancer();
    setEndpoints(lb, [ep("10.0.0.3:1"), ep("10.0.0.1:1"), ep("10.0.0.2:1")], 0);
    expect(orderOf(lb)).toEqual(["10.0.0.1:1", "10.0.0.2:1", "10.0.0.3:1"]);
  });

  it("with no master listed is the labelled slave, ahead of unlabelled ones", () => {
    const lb = createBalancer();
    setEndpoints(lb, [ep("10.0.0.2:1", "slave"), ep("10.0.0.1:1"), ep("10.0.0.3:1")], 0);
    expect(orderOf(lb)).toEqual(["10.0.0.2:1", "10.0.0.1:1", "10.0.0.3:1"]);
    const allSlaves = createBalancer();
    setEndpoints(allSlaves, [ep("10.0.0.2:1", "slave"), ep("10.0.0.1:1", "slave")], 0);
    expect(orderOf(allSlaves)).toEqual(["10.0.0.1:1", "10.0.0.2:1"]);
  });
});

describe("master/slave: traffic", () => {
  const M = "10.0.0.2:1";
  const S = "10.0.0.1:1";
  const T = "10.0.0.3:1";
  const setup = () => {
    const lb = createBalancer();
    setEndpoints(lb, [ep(S, "slave"), ep(M, "master"), ep(T)], 0);
    return lb;
  };
  const fail = (lb: BalancerState, a: string, now: number, times = 1) => {
    for (let i = 0; i < times; i++) recordOutcome(lb, { addr: a, ok: false, latencyMs: 1, now });
  };

  it("goes all to the master while it is healthy, even if it fails a little", () => {
    const lb = setup();
    const rand = mulberry32(31);
    expect(counts(lb, 1000, 0, rand)).toEqual(new Map([[M, 1000]]));
    fail(lb, M, 1, 4);
    expect(counts(lb, 1000, 2, rand)).toEqual(new Map([[M, 1000]]));
  });

  it("fails over to the slave when the master is ejected, and returns after its first success", () => {
    const lb = setup();
    const rand = mulberry32(32);
    fail(lb, M, 100, 5);
    expect(ejectedEndpoints(lb, 100)).toEqual([M]);
    expect(counts(lb, 1000, 100, rand)).toEqual(new Map([[S, 1000]]));
    expect(counts(lb, 1000, 10_099, rand)).toEqual(new Map([[S, 1000]]));

    // Ejection over: the first call probes the master; the others stay on the slave
    // until the probe answers (or a second probe after 1 s without an answer).
    expect(pick(lb, { mode: MS, now: 10_100, rand })).toBe(M);
    expect(counts(lb, 1000, 10_100, rand)).toEqual(new Map([[S, 1000]]));
    expect(counts(lb, 1000, 11_099, rand)).toEqual(new Map([[S, 1000]]));
    expect(pick(lb, { mode: MS, now: 11_100, rand })).toBe(M);
    expect(pick(lb, { mode: MS, now: 11_100, rand })).toBe(S);

    recordOutcome(lb, { addr: M, ok: true, latencyMs: 1, now: 11_200 });
    expect(counts(lb, 1000, 11_200, rand)).toEqual(new Map([[M, 1000]]));
  });

  it("probes the master even when a retry excluded the slave", () => {
    const lb = createBalancer();
    setEndpoints(lb, [ep(M, "master"), ep(S, "slave")], 0);
    fail(lb, M, 0, 5);
    expect(pick(lb, { mode: MS, exclude: new Set([S]), now: 5000, rand: Math.random })).toBe(M);
    pick(lb, { mode: MS, now: 10_000, rand: Math.random }); // the probe
    // Only the probing master is left for this retry: better than nothing.
    expect(pick(lb, { mode: MS, exclude: new Set([S]), now: 10_001, rand: Math.random })).toBe(M);
  });

  it("re-ejects the master for twice as long when its probe fails", () => {
    const lb = setup();
    fail(lb, M, 0, 5);
    fail(lb, M, 10_001);
    expect(ejectedEndpoints(lb, 10_001)).toEqual([M]);
    expect(lb.endpoints.find((e) => e.addr === M)?.ejectedUntil).toBe(30_001);
    expect(counts(lb, 100, 20_000, Math.random)).toEqual(new Map([[S, 100]]));
  });

  it("goes to the next one when the slave is ejected too", () => {
    const lb = createBalancer({ maxEjectedPercent: 100 });
    setEndpoints(lb, [ep(S, "slave"), ep(M, "master"), ep(T)], 0);
    fail(lb, M, 0, 5);
    fail(lb, S, 0, 5);
    expect(counts(lb, 100, 1, Math.random)).toEqual(new Map([[T, 100]]));
    fail(lb, T, 0, 5);
    // Nothing healthy left: the master, ejected or not, rather than nothing.
    expect(counts(lb, 100, 1, Math.random)).toEqual(new Map([[M, 100]]));
  });

  it("respects the protection threshold: with 2 endpoints both failing, one stays in", () => {
    const lb = createBalancer();
    setEndpoints(lb, [ep(M, "master"), ep(S, "slave")], 0);
    fail(lb, M, 0, 5);
    fail(lb, S, 0, 50);
    expect(ejectedEndpoints(lb, 0)).toEqual([M]);
    expect(counts(lb, 100, 1, Math.random)).toEqual(new Map([[S, 100]]));
  });

  it("sends a retry that excludes the master to the slave, then to the next", () => {
    const lb = setup();
    expect(counts(lb, 100, 0, Math.random, new Set([M]))).toEqual(new Map([[S, 100]]));
    expect(counts(lb, 100, 0, Math.random, new Set([M, S]))).toEqual(new Map([[T, 100]]));
    expect(
      pick(lb, { mode: MS, exclude: new Set([M, S, T]), now: 0, rand: Math.random }),
    ).toBeUndefined();
  });

  it("skips a master drained to weight 0", () => {
    const lb = createBalancer();
    setEndpoints(lb, [ep(M, "master", 0), ep(S, "slave")], 0);
    expect(counts(lb, 100, 0, Math.random)).toEqual(new Map([[S, 100]]));
  });

  it("returns to the master once it is listed again", () => {
    const lb = setup();
    setEndpoints(lb, [ep(S, "slave"), ep(T)], 1);
    expect(counts(lb, 10, 1, Math.random)).toEqual(new Map([[S, 10]]));
    setEndpoints(lb, [ep(S, "slave"), ep(M, "master"), ep(T)], 2);
    expect(counts(lb, 10, 2, Math.random)).toEqual(new Map([[M, 10]]));
  });
});
