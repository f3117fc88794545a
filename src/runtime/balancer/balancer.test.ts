import { describe, expect, it } from "vitest";
import {
  createBalancer,
  effectiveWeights,
  ejectedEndpoints,
  pick,
  setEndpoints,
} from "./balancer.js";
import { recordOutcome } from "./stats.js";
import { chiSquare, mulberry32, shares, simulate } from "./testing.js";
import type { BalancerMode, Endpoint } from "./types.js";

const addr = (i: number) => `10.0.0.${i + 1}:8080`;
const endpoints = (weights: readonly number[]): Endpoint[] =>
  weights.map((weight, i) => ({ addr: addr(i), weight, labels: {} }));
const WEIGHTED: BalancerMode = { kind: "weighted" };
const ALL_MODES: BalancerMode[] = [
  { kind: "weighted" },
  { kind: "hash" },
  { kind: "master-slave" },
];

/** Picks `n` times at `now`, without feedback. */
function countPicks(
  state: ReturnType<typeof createBalancer>,
  n: number,
  now: number,
  rand: () => number,
  exclude?: ReadonlySet<string>,
): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const a = pick(
      state,
      exclude ? { mode: WEIGHTED, exclude, now, rand } : { mode: WEIGHTED, now, rand },
    );
    if (a !== undefined) counts.set(a, (counts.get(a) ?? 0) + 1);
  }
  return counts;
}

/** Chi-square critical values at p = 0.001 by degrees of freedom. */
const CHI2_CRITICAL: Record<number, number> = { 1: 10.83, 2: 13.82, 3: 16.27, 4: 18.47 };

describe("weighted mode: distribution", () => {
  it("follows the base weights (chi-square at p = 0.001)", () => {
    const lb = createBalancer();
    const weights = [100, 200, 300, 400];
    setEndpoints(lb, endpoints(weights), 0);
    const counts = countPicks(lb, 100_000, 0, mulberry32(1));
    const observed = weights.map((_, i) => counts.get(addr(i)) ?? 0);
    expect(chiSquare(observed, weights)).toBeLessThan(CHI2_CRITICAL[3] as number);
    // The test has power: the same counts are nowhere near a uniform split.
    expect(chiSquare(observed, [1, 1, 1, 1])).toBeGreaterThan(1000);
    observed.forEach((o, i) => {
      expect(o / 100_000).toBeCloseTo((weights[i] as number) / 1000, 2);
    });
  });

  it("reports effective weights equal to base weights when nothing happened", () => {
    const lb = createBalancer();
    setEndpoints(lb, endpoints([100, 50, 0]), 0);
    expect([...effectiveWeights(lb, 0)]).toEqual([
      [addr(0), 100],
      [addr(1), 50],
      [addr(2), 0],
    ]);
  });

  it("returns undefined for an empty list in every mode", () => {
    const lb = createBalancer();
    for (const mode of ALL_MODES) {
      expect(pick(lb, { mode, key: "k", now: 0, rand: Math.random })).toBeUndefined();
    }
    setEndpoints(lb, endpoints([100]), 0);
    setEndpoints(lb, [], 1);
    for (const mode of ALL_MODES) {
      expect(pick(lb, { mode, key: "k", now: 1, rand: Math.random })).toBeUndefined();
    }
    expect(effectiveWeights(lb, 1).size).toBe(0);
  });

  it("tolerates rand() returning the edges of [0, 1]", () => {
    const lb = createBalancer();
    setEndpoints(lb, endpoints([100, 100, 0]), 0);
    expect(pick(lb, { mode: WEIGHTED, now: 0, rand: () => 0 })).toBe(addr(0));
    expect(pick(lb, { mode: WEIGHTED, now: 0, rand: () => 0.9999999 })).toBe(addr(1));
    expect(pick(lb, { mode: WEIGHTED, now: 0, rand: () => 1 })).toBe(addr(1));
  });
});

describe("weighted mode: base weight 0 (drained)", () => {
  it("is never picked, in any mode, even when the others are excluded or ejected", () => {
    const lb = createBalancer();
    const list = endpoints([0, 100, 100]);
    list[0] = { addr: addr(0), weight: 0, labels: { role: "master" } };
    setEndpoints(lb, list, 0);
    const rand = mulberry32(2);
    for (const mode of ALL_MODES) {
      for (let i = 0; i < 2000; i++) {
        expect(pick(lb, { mode, key: `user-${i}`, now: 0, rand })).not.toBe(addr(0));
      }
      const exclude = new Set([addr(1), addr(2)]);
      expect(pick(lb, { mode, key: "k", exclude, now: 0, rand })).toBeUndefined();
    }
    for (let i = 0; i < 5; i++)
      recordOutcome(lb, { addr: addr(1), ok: false, latencyMs: 1, now: 1 });
    expect(ejectedEndpoints(lb, 2)).toEqual([addr(1)]);
    for (let i = 0; i < 1000; i++) {
      expect(pick(lb, { mode: WEIGHTED, now: 2, rand })).toBe(addr(2));
    }
  });

  it("when every endpoint has weight 0, treats them as equal", () => {
    const lb = createBalancer();
    setEndpoints(lb, endpoints([0, 0, 0]), 0);
    const counts = countPicks(lb, 30_000, 0, mulberry32(3));
    const observed = [0, 1, 2].map((i) => counts.get(addr(i)) ?? 0);
    expect(chiSquare(observed, [1, 1, 1])).toBeLessThan(CHI2_CRITICAL[2] as number);
    expect(pick(lb, { mode: { kind: "hash" }, key: "k", now: 0, rand: Math.random })).toBeDefined();
    expect(pick(lb, { mode: { kind: "master-slave" }, now: 0, rand: Math.random })).toBe(addr(0));
  });
});

describe("weighted mode: exclude (retries)", () => {
  it("never returns an excluded address and keeps the others' proportions", () => {
    const lb = createBalancer();
    const weights = [100, 200, 300, 400];
    setEndpoints(lb, endpoints(weights), 0);
    const exclude = new Set([addr(1), addr(3)]);
    const counts = countPicks(lb, 40_000, 0, mulberry32(4), exclude);
    expect(counts.get(addr(1))).toBeUndefined();
    expect(counts.get(addr(3))).toBeUndefined();
    const observed = [counts.get(addr(0)) ?? 0, counts.get(addr(2)) ?? 0];
    expect(chiSquare(observed, [100, 300])).toBeLessThan(CHI2_CRITICAL[1] as number);
  });

  it("picks exactly what a linear scan over the non-excluded weights would", () => {
    const rand = mulberry32(10);
    for (let round = 0; round < 200; round++) {
      const n = 1 + Math.floor(rand() * 12);
      const lb = createBalancer();
      setEndpoints(lb, endpoints(Array.from({ length: n }, () => Math.floor(rand() * 4) * 50)), 0);
      const exclude = new Set(lb.endpoints.filter(() => rand() < 0.3).map((e) => e.addr));
      const w = [...effectiveWeights(lb, 0).values()];
      const remaining = w.reduce((s, x, i) => (exclude.has(addr(i)) ? s : s + x), 0);
      for (let draw = 0; draw < 20; draw++) {
        const u = rand();
        let expected: string | undefined;
        let r = u * remaining;
        for (let i = 0; i < n && expected === undefined; i++) {
          if (w[i] === 0 || exclude.has(addr(i))) continue;
          r -= w[i] as number;
          if (r < 0) expected = addr(i);
        }
        const got = pick(lb, { mode: WEIGHTED, exclude, now: 0, rand: () => u });
        if (remaining > 0) expect(got).toBe(expected);
        else expect(got === undefined || !exclude.has(got)).toBe(true);
      }
    }
  });

  it("returns undefined when everything is excluded", () => {
    const lb = createBalancer();
    setEndpoints(lb, endpoints([100, 100]), 0);
    const exclude = new Set([addr(0), addr(1)]);
    for (const mode of ALL_MODES) {
      expect(pick(lb, { mode, key: "k", exclude, now: 0, rand: Math.random })).toBeUndefined();
    }
  });

  it("falls back to an ejected endpoint rather than fail a retry", () => {
    const lb = createBalancer();
    setEndpoints(lb, endpoints([100, 100]), 0);
    for (let i = 0; i < 5; i++)
      recordOutcome(lb, { addr: addr(0), ok: false, latencyMs: 1, now: 0 });
    expect(ejectedEndpoints(lb, 1)).toEqual([addr(0)]);
    const exclude = new Set([addr(1)]);
    expect(pick(lb, { mode: WEIGHTED, exclude, now: 1, rand: Math.random })).toBe(addr(0));
    expect(pick(lb, { mode: WEIGHTED, now: 1, rand: Math.random })).toBe(addr(1));
  });
});

describe("weighted mode: a failing instance", () => {
  const healthy = { ok: true, latencyMs: 10 };

  it("loses weight within ~10 failures and regains it gradually (ejection off)", () => {
    const lb = createBalancer({ maxEjectedPercent: 0 });
    setEndpoints(lb, endpoints([100, 100, 100, 100]), 0);
    const rand = mulberry32(5);
    const bad = addr(3);
    let t = simulate(lb, { calls: 2000, start: 0, rand, behave: () => healthy }).end;

    // It starts failing: stop as soon as it took 10 calls.
    let failures = 0;
    while (failures < 10) {
      const a = pick(lb, { mode: WEIGHTED, now: t, rand }) as string;
      recordOutcome(lb, { addr: a, ok: a !== bad, latencyMs: 10, now: t });
      if (a === bad) failures++;
      t++;
    }
    const w = effectiveWeights(lb, t);
    const total = [...w.values()].reduce((s, x) => s + x, 0);
    expect((w.get(bad) as number) / total).toBeLessThan(0.01);
    const whileFailing = simulate(lb, {
      calls: 10_000,
      start: t,
      rand,
      behave: (a) => ({ ok: a !== bad, latencyMs: 10 }),
    });
    expect(shares(whileFailing.counts).get(bad)).toBeLessThan(0.05);
    // The floor keeps probing it: it is never cut off completely.
    expect(whileFailing.counts.get(bad)).toBeGreaterThan(0);

    // It recovers: its share climbs window after window (250 calls each), back to ~1/4.
    // Seen with this seed: 0, 0, 2.0, 7.2, 20.4, 25.6, 25.6, 24.4, ... %
    t = whileFailing.end;
    const ramp: number[] = [];
    for (let window = 0; window < 12; window++) {
      const r = simulate(lb, { calls: 250, start: t, rand, behave: () => healthy });
      ramp.push(shares(r.counts).get(bad) as number);
      t = r.end;
    }
    expect(ramp[0]).toBeLessThan(0.05);
    for (let i = 1; i < ramp.length; i++) {
      expect(ramp[i]).toBeGreaterThan((ramp[i - 1] as number) - 0.05);
    }
    const tail = ramp.slice(-4).reduce((s, x) => s + x, 0) / 4;
    expect(tail).toBeGreaterThan(0.22);
    expect(tail).toBeLessThan(0.28);
    // Gradual, not a jump: at least two windows sit between the floor and the full share.
    expect(ramp.filter((s) => s > 0.01 && s < 0.2).length).toBeGreaterThanOrEqual(2);
  });

  it("with the defaults, is ejected after 5 failures and ramps back over 30 s", () => {
    const lb = createBalancer();
    setEndpoints(lb, endpoints([100, 100, 100, 100]), 0);
    const rand = mulberry32(6);
    const bad = addr(3);
    let t = simulate(lb, { calls: 2000, start: 0, rand, behave: () => healthy }).end;
    const failing = simulate(lb, {
      calls: 1000,
      start: t,
      rand,
      behave: (a) => ({ ok: a !== bad, latencyMs: 10 }),
    });
    expect(failing.counts.get(bad)).toBe(5);
    expect(ejectedEndpoints(lb, failing.end)).toEqual([bad]);
    const ejectedAt = lb.endpoints[3]?.ejectedUntil as number;
    expect(ejectedAt - 10_000).toBeGreaterThanOrEqual(t);
    expect(ejectedAt - 10_000).toBeLessThan(failing.end);

    // While ejected it gets nothing.
    t = failing.end;
    const during = simulate(lb, { calls: 5000, start: t, rand, behave: () => healthy });
    expect(during.counts.get(bad)).toBe(0);

    // Back at 10% of its weight, then linear to 100% over 30 s.
    const back = lb.endpoints[3]?.ejectedUntil as number;
    const weightAt = (dt: number) => effectiveWeights(lb, back + dt).get(bad) as number;
    expect(weightAt(0)).toBeCloseTo(10, 6);
    expect(weightAt(15_000)).toBeCloseTo(55, 6);
    expect(weightAt(30_000)).toBeCloseTo(100, 6);

    // The share over 5-second windows, at 1000 calls/s, follows the ramp.
    t = back;
    const ramp: number[] = [];
    for (let window = 0; window < 7; window++) {
      const r = simulate(lb, { calls: 5000, start: t, rand, behave: () => healthy });
      ramp.push(shares(r.counts).get(bad) as number);
      t = r.end;
    }
    // Expected mid-window factors 0.175, 0.325, ... 0.925, then 1: shares f / (3 + f).
    const expected = [0.175, 0.325, 0.475, 0.625, 0.775, 0.925, 1].map((f) => f / (3 + f));
    ramp.forEach((s, i) => {
      expect(Math.abs(s - (expected[i] as number))).toBeLessThan(0.02);
    });
  });
});

describe("weighted mode: a slow instance", () => {
  it("5x slower than its peers ends up with well under 1/5 of a peer's share", () => {
    const lb = createBalancer();
    setEndpoints(lb, endpoints([100, 100, 100, 100]), 0);
    const rand = mulberry32(7);
    const slow = addr(3);
    const jitter = () => 0.8 + 0.4 * rand();
    const behave = (a: string) => ({ ok: true, latencyMs: (a === slow ? 50 : 10) * jitter() });
    let t = simulate(lb, { calls: 3000, start: 0, rand, behave }).end;
    const r = simulate(lb, { calls: 20_000, start: t, rand, behave });
    const s = shares(r.counts);
    const peer = s.get(addr(0)) as number;
    expect(s.get(slow)).toBeLessThan(0.05);
    expect((s.get(slow) as number) / peer).toBeLessThan(1 / 10);
    t = r.end;

    // Fast again: it regains its share over the next calls.
    const fine = () => ({ ok: true, latencyMs: 10 * jitter() });
    const recovered = simulate(lb, { calls: 10_000, start: t + 10_000, rand, behave: fine });
    const last = simulate(lb, { calls: 5000, start: recovered.end, rand, behave: fine });
    expect(shares(last.counts).get(slow)).toBeGreaterThan(0.2);
  });

  it("within ~1.5x of the median is barely punished", () => {
    const lb = createBalancer();
    setEndpoints(lb, endpoints([100, 100, 100, 100]), 0);
    const rand = mulberry32(8);
    const behave = (a: string) => ({ ok: true, latencyMs: a === addr(3) ? 14 : 10 });
    const t = simulate(lb, { calls: 3000, start: 0, rand, behave }).end;
    const w = effectiveWeights(lb, t);
    // 1.4x → 1 / (1 + 0.4²) = 0.862
    expect(w.get(addr(3))).toBeCloseTo(86.2, 1);
    expect(w.get(addr(0))).toBe(100);
  });

  it("never lets stats push a weight below 1% of its base", () => {
    const lb = createBalancer({ maxEjectedPercent: 0 });
    setEndpoints(lb, endpoints([100, 100]), 0);
    for (let i = 0; i < 10; i++)
      recordOutcome(lb, { addr: addr(0), ok: true, latencyMs: 1, now: i });
    for (let i = 0; i < 200; i++) {
      recordOutcome(lb, { addr: addr(1), ok: i % 2 === 0, latencyMs: 10_000, now: i });
    }
    expect(effectiveWeights(lb, 300).get(addr(1))).toBe(1);
  });
});

describe("setEndpoints", () => {
  it("keeps the stats of endpoints that stay, forgets the others", () => {
    const lb = createBalancer({ maxEjectedPercent: 0 });
    setEndpoints(lb, endpoints([100, 100, 100]), 0);
    for (let i = 0; i < 3; i++)
      recordOutcome(lb, { addr: addr(1), ok: false, latencyMs: 5, now: 3 });
    for (let i = 0; i < 3; i++)
      recordOutcome(lb, { addr: addr(2), ok: false, latencyMs: 5, now: 3 });
    const before = effectiveWeights(lb, 3).get(addr(1)) as number;
    expect(before).toBeCloseTo(100 * 0.8 ** 6, 6);

    // addr(2) leaves, addr(1) stays with a new weight, addr(3) joins.
    setEndpoints(lb, [...endpoints([100, 200]), { addr: addr(3), weight: 100, labels: {} }], 3);
    const w = effectiveWeights(lb, 3);
    expect([...w.keys()]).toEqual([addr(0), addr(1), addr(3)]);
    expect(w.get(addr(1))).toBeCloseTo(200 * 0.8 ** 6, 6);
    // A newcomer to a running client starts on the slow-start ramp...
    expect(w.get(addr(3))).toBeCloseTo(10, 6);
    expect(effectiveWeights(lb, 30_003).get(addr(3))).toBe(100);
    // ...and one that left and came back starts fresh.
    setEndpoints(lb, endpoints([100, 100, 100]), 40_000);
    expect(lb.endpoints[2]?.successRate).toBe(1);
    expect(lb.endpoints[2]?.consecutiveFailures).toBe(0);
    expect(effectiveWeights(lb, 40_000).get(addr(2))).toBeCloseTo(10, 6);
  });

  it("ignores outcomes for addresses it does not know, and duplicate addresses", () => {
    const lb = createBalancer();
    setEndpoints(lb, [...endpoints([100]), { addr: addr(0), weight: 5, labels: {} }], 0);
    recordOutcome(lb, { addr: "10.9.9.9:1", ok: false, latencyMs: 1, now: 0 });
    expect(lb.endpoints).toHaveLength(1);
    expect(lb.endpoints[0]?.weight).toBe(100);
    expect(lb.endpoints[0]?.samples).toBe(0);
  });

  it("treats a negative or non-finite weight as 0", () => {
    const lb = createBalancer();
    setEndpoints(lb, endpoints([-5, Number.NaN, 100]), 0);
    expect([...effectiveWeights(lb, 0).values()]).toEqual([0, 0, 100]);
  });
});

describe("weight cache", () => {
  it("applies an ejection to the very next pick", () => {
    const lb = createBalancer();
    setEndpoints(lb, endpoints([100, 100]), 0);
    const rand = mulberry32(9);
    pick(lb, { mode: WEIGHTED, now: 0, rand });
    for (let i = 0; i < 5; i++)
      recordOutcome(lb, { addr: addr(0), ok: false, latencyMs: 1, now: 0 });
    for (let i = 0; i < 1000; i++) expect(pick(lb, { mode: WEIGHTED, now: 0, rand })).toBe(addr(1));
  });

  it("follows the slow-start ramp with no new outcome", () => {
    const lb = createBalancer();
    setEndpoints(lb, endpoints([100, 100]), 0);
    for (let i = 0; i < 5; i++)
      recordOutcome(lb, { addr: addr(0), ok: false, latencyMs: 1, now: 0 });
    const rand = mulberry32(13);
    const share = (now: number) => (countPicks(lb, 20_000, now, rand).get(addr(0)) ?? 0) / 20_000;
    expect(share(5000)).toBe(0);
    expect(share(10_000)).toBeCloseTo(0.1 / 1.1, 2); // back at 10%
    expect(share(25_000)).toBeCloseTo(0.55 / 1.55, 2); // halfway up the ramp
    expect(share(40_000)).toBeCloseTo(0.5, 2);
  });

  it("lets stats lag by at most refreshMs", () => {
    const lb = createBalancer({ maxEjectedPercent: 0, refreshMs: 5 });
    setEndpoints(lb, endpoints([100, 100]), 0);
    pick(lb, { mode: WEIGHTED, now: 0, rand: Math.random });
    for (let i = 0; i < 30; i++)
      recordOutcome(lb, { addr: addr(0), ok: false, latencyMs: 1, now: 0 });
    // Still the cached 50/50 split at t = 4 (rand 0.3 → first endpoint)...
    expect(pick(lb, { mode: WEIGHTED, now: 4, rand: () => 0.3 })).toBe(addr(0));
    // ...and the new weights from t = 5.
    expect(pick(lb, { mode: WEIGHTED, now: 5, rand: () => 0.3 })).toBe(addr(1));
    expect(lb.cache.total).toBeCloseTo(101, 6);
  });
});
