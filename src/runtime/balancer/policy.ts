import { MsecError } from "../../core/errors.js";
import type { BalancerPolicy } from "./types.js";

/**
 * The defaults, explained with numbers in docs/balancing.md. In short: a failure costs
 * a lot at once, a success gives a little back; 5 failures in a row eject for 10 s
 * (doubling on repeats, up to 5 min), never more than half the endpoints at once; a
 * returning endpoint ramps from 10% to full weight over 30 s.
 */
export const DEFAULT_POLICY: Readonly<BalancerPolicy> = Object.freeze({
  successAlphaOnFailure: 0.2,
  successAlphaOnSuccess: 0.05,
  successExponent: 2,
  latencyAlphaUp: 0.2,
  latencyAlphaDown: 0.05,
  latencyHalfWeightRatio: 2,
  latencyFloorMs: 1,
  minWeightFraction: 0.01,
  consecutiveFailures: 5,
  ejectSuccessRate: 0.5,
  ejectWindow: 20,
  ejectionBaseMs: 10_000,
  ejectionMaxMs: 300_000,
  ejectionMemoryMs: 300_000,
  maxEjectedPercent: 50,
  recoveryWindowMs: 30_000,
  recoveryStartFactor: 0.1,
  probeIntervalMs: 1000,
  forgetMs: 60_000,
  refreshMs: 5,
});

type Range = readonly [min: number, max: number, integer?: boolean];

const RANGES: Record<keyof BalancerPolicy, Range> = {
  successAlphaOnFailure: [0, 1],
  successAlphaOnSuccess: [0, 1],
  successExponent: [0, 16],
  latencyAlphaUp: [0, 1],
  latencyAlphaDown: [0, 1],
  latencyHalfWeightRatio: [1.01, 1000],
  latencyFloorMs: [0, 60_000],
  minWeightFraction: [1e-6, 1],
  consecutiveFailures: [0, 1_000_000, true],
  ejectSuccessRate: [0, 1],
  ejectWindow: [1, 1_000_000, true],
  ejectionBaseMs: [0, 86_400_000],
  ejectionMaxMs: [0, 86_400_000],
  ejectionMemoryMs: [0, 86_400_000],
  maxEjectedPercent: [0, 100],
  recoveryWindowMs: [0, 86_400_000],
  recoveryStartFactor: [1e-6, 1],
  probeIntervalMs: [0, 3_600_000],
  forgetMs: [1, 86_400_000],
  refreshMs: [0, 60_000],
};

/** The defaults overridden by `overrides`; throws `invalid_argument` naming a bad knob. */
export function resolvePolicy(overrides: Partial<BalancerPolicy> = {}): BalancerPolicy {
  const policy: BalancerPolicy = { ...DEFAULT_POLICY };
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    const range = RANGES[name as keyof BalancerPolicy];
    if (range === undefined) {
      throw new MsecError("invalid_argument", `unknown balancer policy knob ${name}`, {
        field: name,
      });
    }
    const [min, max, integer] = range;
    if (
      typeof value !== "number" ||
      !Number.isFinite(value) ||
      value < min ||
      value > max ||
      (integer === true && !Number.isInteger(value))
    ) {
      const kind = integer === true ? "an integer" : "a number";
      throw new MsecError("invalid_argument", `${name} must be ${kind} in ${min}..${max}`, {
        field: name,
      });
    }
    policy[name as keyof BalancerPolicy] = value;
  }
  if (policy.ejectionMaxMs < policy.ejectionBaseMs) {
    throw new MsecError("invalid_argument", "ejectionMaxMs must be at least ejectionBaseMs", {
      field: "ejectionMaxMs",
    });
  }
  return policy;
}
