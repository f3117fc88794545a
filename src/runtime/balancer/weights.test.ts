import { describe, expect, it } from "vitest";
import { createBalancer, effectiveWeights, setEndpoints } from "./balancer.js";
import { DEFAULT_POLICY, resolvePolicy } from "./policy.js";
import { recordOutcome } from "./stats.js";
import type { EndpointState } from "./types.js";
import { latencyFactor, medianWithout, recoveryFactor, successFactor } from "./weights.js";

const p = DEFAULT_POLICY;
const round3 = (x: number) => Math.round(x * 1000) / 1000;

describe("weight factors", () => {
  it("latency: none up to the median, half at 2x, ~1/17 at 5x", () => {
    const ratios = [0.5, 1, 1.2, 1.5, 2, 3, 5, 10];
    expect(ratios.map((r) => round3(latencyFactor(10 * r, 10, p)))).toEqual([
      1, 1, 0.962, 0.8, 0.5, 0.2, 0.059, 0.012,
    ]);
    expect(latencyFactor(undefined, 10, p)).toBe(1);
    expect(latencyFactor(10, undefined, p)).toBe(1);
  });

  it("latency: ratios below the floor do not count", () => {
    expect(latencyFactor(0.9, 0.1, p)).toBe(1); // both count as 1 ms
    expect(latencyFactor(5, 0.2, p)).toBeCloseTo(latencyFactor(5, 1, p), 12);
  });

  it("latency: the half-weight ratio is a knob", () => {
    const lenient = resolvePolicy({ latencyHalfWeightRatio: 3 });
    expect(latencyFactor(30, 10, lenient)).toBe(0.5);
    expect(round3(latencyFactor(50, 10, lenient))).toBe(0.2);
  });

  it("success: the score squared", () => {
    expect([1, 0.9, 0.5, 0.1].map((s) => round3(successFactor(s, p)))).toEqual([
      1, 0.81, 0.25, 0.01,
    ]);
  });

  it("recovery: linear from 10% to 100% over 30 s", () => {
    const e = { recoveryStart: 1000 } as EndpointState;
    expect([0, 1000, 16_000, 31_000, 99_000].map((t) => round3(recoveryFactor(e, t, p)))).toEqual([
      0.1, 0.1, 0.55, 1, 1,
    ]);
    expect(recoveryFactor({ recoveryStart: undefined } as EndpointState, 0, p)).toBe(1);
  });

  it("median of the others", () => {
    const s = Float64Array.from([1, 2, 3, 10]);
    expect([0, 1, 2, 3].map((i) => medianWithout(s, 4, i))).toEqual([3, 3, 2, 2]);
    expect(medianWithout(Float64Array.from([5, 7]), 2, 0)).toBe(7);
    expect(medianWithout(Float64Array.from([5]), 1, 0)).toBeUndefined();
    expect(medianWithout(Float64Array.from([1, 2, 3]), 3, 1)).toBe(2);
  });
});

describe("success score", () => {
  it("drops fast on failures and climbs slowly on successes", () => {
    const lb = createBalancer({ consecutiveFailures: 0, ejectSuccessRate: 0 });
    setEndpoints(lb, [{ addr: "10.0.0.1:1", weight: 100, labels: {} }], 0);
    const e = lb.endpoints[0] as EndpointState;
    const trace: number[] = [];
    for (let i = 0; i < 3; i++) {
      recordOutcome(lb, { addr: e.addr, ok: false, latencyMs: 1, now: 0 });
      trace.push(round3(e.successRate));
    }
    for (let i = 0; i < 3; i++) {
      recordOutcome(lb, { addr: e.addr, ok: true, latencyMs: 1, now: 0 });
      trace.push(round3(e.successRate));
    }
    expect(trace).toEqual([0.8, 0.64, 0.512, 0.536, 0.56, 0.582]);
    // 14 successes close only half the gap 3 failures opened: 1 − 0.488 × 0.95^14 ≈ 0.76.
    for (let i = 0; i < 11; i++)
      recordOutcome(lb, { addr: e.addr, ok: true, latencyMs: 1, now: 0 });
    expect(round3(e.successRate)).toBe(0.762);
  });

  it("combines with latency into the effective weight (2x slower, 1 failure: 100 × 0.64 × 0.5)", () => {
    const lb = createBalancer();
    const eps = [1, 2, 3].map((i) => ({ addr: `10.0.0.${i}:1`, weight: 100, labels: {} }));
    setEndpoints(lb, eps, 0);
    recordOutcome(lb, { addr: eps[0]?.addr as string, ok: true, latencyMs: 10, now: 0 });
    recordOutcome(lb, { addr: eps[1]?.addr as string, ok: true, latencyMs: 10, now: 0 });
    recordOutcome(lb, { addr: eps[2]?.addr as string, ok: true, latencyMs: 20, now: 0 });
    recordOutcome(lb, { addr: eps[2]?.addr as string, ok: false, latencyMs: 1, now: 0 });
    expect([...effectiveWeights(lb, 0).values()].map(round3)).toEqual([100, 100, 32]);
  });
});

describe("fading evidence (forgetMs)", () => {
  const setup = () => {
    const lb = createBalancer({ maxEjectedPercent: 0 });
    setEndpoints(
      lb,
      [1, 2].map((i) => ({ addr: `10.0.0.${i}:1`, weight: 100, labels: {} })),
      0,
    );
    return lb;
  };

  it("lets an endpoint that gets no calls regain weight over minutes", () => {
    const lb = setup();
    for (let i = 0; i < 10; i++)
      recordOutcome(lb, { addr: "10.0.0.1:1", ok: false, latencyMs: 1, now: 0 });
    // Score 0.8^10 = 0.107; its penalty 0.893 fades by e^(−idle/60 s).
    const w = (t: number) => round3(effectiveWeights(lb, t).get("10.0.0.1:1") as number);
    expect([0, 60_000, 180_000, 600_000].map(w)).toEqual([1.153, 45.108, 91.309, 99.992]);
  });

  it("does not snap back to the old penalty on the next call after a long pause", () => {
    const lb = setup();
    for (let i = 0; i < 10; i++)
      recordOutcome(lb, { addr: "10.0.0.1:1", ok: false, latencyMs: 1, now: 0 });
    recordOutcome(lb, { addr: "10.0.0.1:1", ok: true, latencyMs: 1, now: 300_000 });
    expect(effectiveWeights(lb, 300_000).get("10.0.0.1:1")).toBeGreaterThan(98);
  });

  it("fades a latency penalty too, and a fresh sample after a pause counts in full", () => {
    const lb = setup();
    recordOutcome(lb, { addr: "10.0.0.2:1", ok: true, latencyMs: 10, now: 0 });
    recordOutcome(lb, { addr: "10.0.0.1:1", ok: true, latencyMs: 50, now: 0 });
    const w = (t: number) => round3(effectiveWeights(lb, t).get("10.0.0.1:1") as number);
    expect(w(0)).toBe(5.882); // 5x: 1 / (1 + 4²)
    expect(w(60_000)).toBe(65.376); // 1 − (1 − 1/17) × e^−1
    recordOutcome(lb, { addr: "10.0.0.1:1", ok: true, latencyMs: 10, now: 600_000 });
    expect(lb.endpoints[0]?.latencyMs).toBeCloseTo(10, 1); // 50 + (10 − 50) × (1 − e^−10)
  });

  it("changes nothing measurable under load (a call every few ms)", () => {
    const lb = setup();
    for (let i = 0; i < 10; i++)
      recordOutcome(lb, { addr: "10.0.0.1:1", ok: false, latencyMs: 1, now: i * 5 });
    expect(lb.endpoints[0]?.successRate).toBeCloseTo(0.8 ** 10, 3);
  });
});
