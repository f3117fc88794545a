import { describe, expect, it } from "vitest";
import { isMsecError } from "../../core/errors.js";
import { createBalancer } from "./balancer.js";
import { DEFAULT_POLICY, resolvePolicy } from "./policy.js";
import type { BalancerPolicy } from "./types.js";

describe("balancer policy", () => {
  it("documents its defaults (docs/balancing.md shows the same numbers)", () => {
    expect(DEFAULT_POLICY).toMatchObject({
      consecutiveFailures: 5,
      ejectionBaseMs: 10_000,
      ejectionMaxMs: 300_000,
      maxEjectedPercent: 50,
      recoveryWindowMs: 30_000,
      recoveryStartFactor: 0.1,
      minWeightFraction: 0.01,
      latencyHalfWeightRatio: 2,
    });
    expect(Object.isFrozen(DEFAULT_POLICY)).toBe(true);
    expect(createBalancer().policy).toEqual(DEFAULT_POLICY);
  });

  it("overrides knob by knob, skipping undefined", () => {
    const p = resolvePolicy({ maxEjectedPercent: 30, consecutiveFailures: undefined });
    expect(p.maxEjectedPercent).toBe(30);
    expect(p.consecutiveFailures).toBe(5);
  });

  it.each([
    [{ maxEjectedPercent: 101 }, "maxEjectedPercent", /0\.\.100/],
    [{ consecutiveFailures: 2.5 }, "consecutiveFailures", /an integer/],
    [{ successAlphaOnFailure: Number.NaN }, "successAlphaOnFailure", /a number/],
    [{ ejectionBaseMs: 20_000, ejectionMaxMs: 10_000 }, "ejectionMaxMs", /at least/],
    [{ latencyHalfWeightRatio: 1 }, "latencyHalfWeightRatio", /1\.01\.\.1000/],
    [{ bogus: 1 } as unknown as Partial<BalancerPolicy>, "bogus", /unknown/],
  ])("refuses %o naming the knob", (overrides, field, message) => {
    let error: unknown;
    try {
      resolvePolicy(overrides);
    } catch (e) {
      error = e;
    }
    expect(isMsecError(error)).toBe(true);
    expect(error).toMatchObject({ code: "invalid_argument", field });
    expect((error as Error).message).toMatch(message);
  });
});
