import { describe, expect, it } from "vitest";
import {
  createBalancer,
  effectiveWeights,
  ejectedEndpoints,
  pick,
  setEndpoints,
} from "./balancer.js";
import { ejectionDuration } from "./ejection.js";
import { recordOutcome } from "./stats.js";
import { mulberry32, simulate } from "./testing.js";
import type { BalancerState, Endpoint } from "./types.js";

const addr = (i: number) => `10.0.0.${i + 1}:8080`;
const endpoints = (n: number, weight = 100): Endpoint[] =>
  Array.from({ length: n }, (_, i) => ({ addr: addr(i), weight, labels: {} }));

function fail(lb: BalancerState, a: string, now: number, times = 1, latencyMs = 1): void {
  for (let i = 0; i < times; i++) recordOutcome(lb, { addr: a, ok: false, latencyMs, now });
}
function succeed(lb: BalancerState, a: string, now: number, times = 1, latencyMs = 1): void {
  for (let i = 0; i < times; i++) recordOutcome(lb, { addr: a, ok: true, latencyMs, now });
}
const untilOf = (lb: BalancerState, i: number) => lb.endpoints[i]?.ejectedUntil as number;

describe("outlier ejection: consecutive failures", () => {
  it("ejects after 5 failures in a row, not 4, for 10 s", () => {
    const lb = createBalancer();
    setEndpoints(lb, endpoints(4), 0);
    fail(lb, addr(0), 100, 4);
    expect(ejectedEndpoints(lb, 100)).toEqual([]);
    fail(lb, addr(0), 100);
    expect(ejectedEndpoints(lb, 100)).toEqual([addr(0)]);
    expect(untilOf(lb, 0)).toBe(10_100);
    expect(ejectedEndpoints(lb, 10_099)).toEqual([addr(0)]);
    expect(ejectedEndpoints(lb, 10_100)).toEqual([]);
    expect(effectiveWeights(lb, 5000).get(addr(0))).toBe(0);
  });

  it("starts counting again after a success", () => {
    const lb = createBalancer();
    setEndpoints(lb, endpoints(4), 0);
    for (let round = 0; round < 10; round++) {
      fail(lb, addr(0), round, 4);
      succeed(lb, addr(0), round, 10); // ~30% failures: clear of the success-rate rule too
    }
    expect(ejectedEndpoints(lb, 10)).toEqual([]);
  });

  it("can be turned off", () => {
    const lb = createBalancer({ consecutiveFailures: 0, ejectSuccessRate: 0 });
    setEndpoints(lb, endpoints(4), 0);
    fail(lb, addr(0), 0, 100);
    expect(ejectedEndpoints(lb, 0)).toEqual([]);
    expect(effectiveWeights(lb, 0).get(addr(0))).toBe(1);
  });
});

describe("outlier ejection: protection threshold", () => {
  it("with 4 endpoints all failing, never has more than 2 ejected", () => {
    const lb = createBalancer();
    setEndpoints(lb, endpoints(4), 0);
    const rand = mulberry32(11);
    let maxEjected = 0;
    for (let t = 0; t < 120_000; t += 10) {
      const a = pick(lb, { mode: { kind: "weighted" }, now: t, rand });
      expect(a).toBeDefined();
      recordOutcome(lb, { addr: a as string, ok: false, latencyMs: 5, now: t });
      maxEjected = Math.max(maxEjected, ejectedEndpoints(lb, t).length);
    }
    expect(maxEjected).toBe(2);
  });

  it("leaves a non-ejectable endpoint in at its floor weight, and ejects it once a slot frees", () => {
    const lb = createBalancer();
    setEndpoints(lb, endpoints(4), 0);
    fail(lb, addr(0), 0, 5);
    fail(lb, addr(1), 1000, 5);
    fail(lb, addr(2), 1000, 20);
    expect(ejectedEndpoints(lb, 1000)).toEqual([addr(0), addr(1)]);
    expect(effectiveWeights(lb, 1000).get(addr(2))).toBe(1); // 1% of 100
    // addr(0) comes back at 10 s; addr(2)'s next failure takes its slot.
    fail(lb, addr(2), 10_000);
    expect(ejectedEndpoints(lb, 10_000)).toEqual([addr(1), addr(2)]);
  });

  it("follows maxEjectedPercent, rounding down, and never ejects a lone endpoint", () => {
    const lb = createBalancer({ maxEjectedPercent: 25 });
    setEndpoints(lb, endpoints(8), 0);
    for (let i = 0; i < 8; i++) fail(lb, addr(i), 0, 5);
    expect(ejectedEndpoints(lb, 0)).toEqual([addr(0), addr(1)]);

    const three = createBalancer();
    setEndpoints(three, endpoints(3), 0);
    for (let i = 0; i < 3; i++) fail(three, addr(i), 0, 5);
    expect(ejectedEndpoints(three, 0)).toHaveLength(1);

    const one = createBalancer();
    setEndpoints(one, endpoints(1), 0);
    fail(one, addr(0), 0, 50);
    expect(ejectedEndpoints(one, 0)).toEqual([]);
    expect(pick(one, { mode: { kind: "weighted" }, now: 0, rand: Math.random })).toBe(addr(0));
  });

  it("counts only serving endpoints: drained ones neither count nor get ejected", () => {
    const lb = createBalancer();
    setEndpoints(
      lb,
      [
        ...endpoints(2),
        { addr: addr(2), weight: 0, labels: {} },
        { addr: addr(3), weight: 0, labels: {} },
      ],
      0,
    );
    for (let i = 0; i < 4; i++) fail(lb, addr(i), 0, 5);
    // 2 serving → at most 1 ejected, even though 4 are listed.
    expect(ejectedEndpoints(lb, 0)).toEqual([addr(0)]);
  });
});

describe("outlier ejection: repeated ejections", () => {
  it("doubles the ejection time on each repeat, up to 5 minutes", () => {
    const lb = createBalancer();
    setEndpoints(lb, endpoints(4), 0);
    let t = 1000;
    fail(lb, addr(0), t, 5);
    const durations: number[] = [];
    for (let round = 0; round < 8; round++) {
      durations.push(untilOf(lb, 0) - t);
      // Back from ejection and probing: its first call (1 ms long) fails → ejected again.
      t = untilOf(lb, 0) + 1;
      fail(lb, addr(0), t);
    }
    expect(durations).toEqual([10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000, 300_000]);
    expect(ejectionDuration(lb, 100)).toBe(300_000);
  });

  it("needs 5 failures again once the returning endpoint has succeeded", () => {
    const lb = createBalancer();
    setEndpoints(lb, endpoints(4), 0);
    fail(lb, addr(0), 0, 5);
    const back = untilOf(lb, 0);
    succeed(lb, addr(0), back + 1);
    fail(lb, addr(0), back + 2, 4);
    expect(ejectedEndpoints(lb, back + 2)).toEqual([]);
    fail(lb, addr(0), back + 2);
    expect(untilOf(lb, 0)).toBe(back + 2 + 20_000);
  });

  it("starts again at 10 s after 5 minutes without an ejection", () => {
    const lb = createBalancer();
    setEndpoints(lb, endpoints(4), 0);
    fail(lb, addr(0), 0, 5);
    fail(lb, addr(0), 10_001); // probe fails: 20 s
    const back = untilOf(lb, 0);
    expect(back).toBe(30_001);
    succeed(lb, addr(0), back + 1);
    fail(lb, addr(0), back + 299_000, 5); // within the memory: 40 s
    expect(untilOf(lb, 0) - (back + 299_000)).toBe(40_000);
    const back2 = untilOf(lb, 0);
    succeed(lb, addr(0), back2 + 1);
    fail(lb, addr(0), back2 + 300_000, 5); // a clean 5 minutes: 10 s again
    expect(untilOf(lb, 0) - (back2 + 300_000)).toBe(10_000);
  });
});

describe("outlier ejection: success rate", () => {
  it("ejects an endpoint failing 2 calls in 3 while its peers are healthy", () => {
    const lb = createBalancer();
    setEndpoints(lb, endpoints(4), 0);
    let ejectedAfter = -1;
    for (let i = 0; i < 100 && ejectedAfter < 0; i++) {
      recordOutcome(lb, { addr: addr(0), ok: i % 3 === 0, latencyMs: 1, now: i });
      if (ejectedEndpoints(lb, i).length > 0) ejectedAfter = i + 1;
    }
    // Never 5 failures in a row: the success-rate rule did it, once 20 calls were seen.
    expect(ejectedAfter).toBe(20);
  });

  it("does not eject an endpoint failing 1 call in 3", () => {
    const lb = createBalancer();
    setEndpoints(lb, endpoints(4), 0);
    for (let i = 0; i < 1000; i++) {
      recordOutcome(lb, { addr: addr(0), ok: i % 3 !== 0, latencyMs: 1, now: i });
    }
    expect(ejectedEndpoints(lb, 1000)).toEqual([]);
    // ...but its weight shows it: the pessimistic score hovers around 1/3 → ~0.1 of its base.
    const w = effectiveWeights(lb, 1000).get(addr(0)) as number;
    expect(w).toBeGreaterThan(5);
    expect(w).toBeLessThan(15);
  });

  it("does not eject when everyone fails alike (a shared dependency is down)", () => {
    const lb = createBalancer();
    setEndpoints(lb, endpoints(4), 0);
    for (let i = 0; i < 200; i++) {
      for (let j = 0; j < 4; j++)
        recordOutcome(lb, { addr: addr(j), ok: i % 3 === 0, latencyMs: 1, now: i });
    }
    expect(ejectedEndpoints(lb, 200)).toEqual([]);
  });
});

describe("outlier ejection: return", () => {
  it("comes back at 10% of its weight and ramps linearly to 100% over 30 s", () => {
    const lb = createBalancer();
    setEndpoints(lb, endpoints(4), 0);
    fail(lb, addr(0), 0, 5, 200);
    const back = untilOf(lb, 0);
    const w = (dt: number) => effectiveWeights(lb, back + dt).get(addr(0)) as number;
    expect(w(-1)).toBe(0);
    expect(
      [0, 7500, 15_000, 22_500, 30_000, 60_000].map((dt) => Math.round(w(dt) * 100) / 100),
    ).toEqual([10, 32.5, 55, 77.5, 100, 100]);
    // Its stats were wiped: neither the failures nor their latency count against it.
    expect(lb.endpoints[0]?.successRate).toBe(1);
    expect(lb.endpoints[0]?.latencyMs).toBeUndefined();
  });

  it("ignores outcomes of calls started before its ejection ended", () => {
    const lb = createBalancer();
    setEndpoints(lb, endpoints(4), 0);
    fail(lb, addr(0), 0, 5);
    const back = untilOf(lb, 0);
    fail(lb, addr(0), 5000, 10); // while ejected
    fail(lb, addr(0), back + 100, 1, 500); // started 400 ms before it came back
    expect(untilOf(lb, 0)).toBe(back);
    expect(lb.endpoints[0]?.samples).toBe(0);
    fail(lb, addr(0), back + 100, 1, 50); // started after: counts, and the probe failed
    expect(untilOf(lb, 0)).toBe(back + 100 + 20_000);
  });

  it("lets failures raise the latency estimate but never lower it", () => {
    const lb = createBalancer({ consecutiveFailures: 0, ejectSuccessRate: 0 });
    setEndpoints(lb, endpoints(2), 0);
    succeed(lb, addr(0), 0, 1, 100);
    fail(lb, addr(0), 1, 10, 0.1);
    expect(lb.endpoints[0]?.latencyMs).toBe(100);
    fail(lb, addr(0), 2, 1, 1100);
    expect(lb.endpoints[0]?.latencyMs).toBeCloseTo(300, 6);
    fail(lb, addr(1), 3, 1, 50);
    expect(lb.endpoints[1]?.latencyMs).toBeUndefined();
  });

  it("simulated: a dead instance gets no calls while ejected, then probes and ramps", () => {
    const lb = createBalancer();
    setEndpoints(lb, endpoints(2), 0);
    const rand = mulberry32(12);
    let dead = true;
    const behave = (a: string) => ({ ok: a !== addr(0) || !dead, latencyMs: 5 });
    const first = simulate(lb, { calls: 100, start: 0, step: 10, rand, behave });
    expect(first.counts.get(addr(0))).toBe(5);
    const during = simulate(lb, { calls: 900, start: first.end, step: 10, rand, behave });
    expect(during.counts.get(addr(0))).toBe(0);
    dead = false;
    // Back at ~11 s, with 10% weight: ~1 call in 11 at first; 30 s later, half of them.
    const early = simulate(lb, { calls: 300, start: during.end, step: 10, rand, behave });
    const late = simulate(lb, { calls: 1000, start: during.end + 40_000, step: 10, rand, behave });
    expect(early.counts.get(addr(0))).toBeGreaterThan(10);
    expect(early.counts.get(addr(0))).toBeLessThan(60);
    expect(late.counts.get(addr(0))).toBeGreaterThan(450);
    expect(late.counts.get(addr(0))).toBeLessThan(550);
  });
});
