import { isEjected } from "./endpoint.js";
import { addrHash, pickHashed } from "./hash.js";
import { masterSlaveOrder, pickMasterSlave } from "./master-slave.js";
import { resolvePolicy } from "./policy.js";
import type {
  BalancerPolicy,
  BalancerState,
  Endpoint,
  EndpointState,
  PickOptions,
  WeightCache,
} from "./types.js";
import { pickWeighted } from "./weighted.js";
import { computeWeights } from "./weights.js";

function emptyCache(n: number): WeightCache {
  return {
    valid: false,
    dirty: false,
    ramping: false,
    computedAt: 0,
    expiresAt: Number.POSITIVE_INFINITY,
    weights: new Float64Array(n),
    cumulative: new Float64Array(n),
    total: 0,
    positive: 0,
    scratch: new Float64Array(n),
    excluded: new Int32Array(n),
  };
}

/** A balancer with no endpoints yet; `policy` overrides `DEFAULT_POLICY` knob by knob. */
export function createBalancer(policy: Partial<BalancerPolicy> = {}): BalancerState {
  return {
    policy: resolvePolicy(policy),
    endpoints: [],
    index: new Map(),
    allDrained: false,
    equalWeights: true,
    masterOrder: [],
    cache: emptyCache(0),
  };
}

function baseWeight(w: number): number {
  return Number.isFinite(w) && w > 0 ? w : 0;
}

/**
 * Replaces the endpoint list (the name service's latest). Endpoints that stay keep
 * their stats and ejection (their weight and labels are updated); new ones start
 * fresh — on the slow-start ramp, unless the balancer had no endpoints before (a
 * client's first list is not a flood of new instances); the rest are forgotten.
 * Duplicate addresses: the first wins.
 */
export function setEndpoints(
  state: BalancerState,
  endpoints: readonly Endpoint[],
  now: number,
): void {
  const warmUp = state.endpoints.length > 0;
  const next: EndpointState[] = [];
  const index = new Map<string, number>();
  for (const ep of endpoints) {
    if (index.has(ep.addr)) continue;
    const old = state.index.get(ep.addr);
    let e = old === undefined ? undefined : state.endpoints[old];
    if (e === undefined) {
      e = {
        addr: ep.addr,
        weight: baseWeight(ep.weight),
        labels: ep.labels,
        successRate: 1,
        recentSuccessRate: 1,
        latencyMs: undefined,
        lastOutcomeAt: undefined,
        samples: 0,
        consecutiveFailures: 0,
        ejectedUntil: undefined,
        ejections: 0,
        probing: false,
        probeSentAt: undefined,
        recoveryStart: warmUp ? now : undefined,
        addrHash: addrHash(ep.addr),
      };
    } else {
      e.weight = baseWeight(ep.weight);
      e.labels = ep.labels;
    }
    index.set(ep.addr, next.length);
    next.push(e);
  }
  state.endpoints = next;
  state.index = index;
  state.allDrained = next.length > 0 && next.every((e) => e.weight === 0);
  const serving = next.filter((e) => e.weight > 0);
  state.equalWeights = serving.every((e) => e.weight === serving[0]?.weight);
  state.masterOrder = masterSlaveOrder(next);
  state.cache = emptyCache(next.length);
}

/**
 * Chooses the address for one call, or undefined when there is no endpoint left to
 * choose (none listed, or all excluded or drained). Never returns an excluded
 * address or one with base weight 0 (unless all are 0); returns an ejected one only
 * when every other candidate is excluded or ejected too. Refreshes the weight cache
 * when stale, and in master/slave mode notes when it hands out a probe.
 */
export function pick(state: BalancerState, opts: PickOptions): string | undefined {
  if (state.endpoints.length === 0) return undefined;
  const { mode, exclude, now, rand } = opts;
  let i: number;
  switch (mode.kind) {
    case "weighted":
      i = pickWeighted(state, exclude, now, rand);
      break;
    case "hash":
      i =
        opts.key === undefined
          ? pickWeighted(state, exclude, now, rand)
          : pickHashed(state, opts.key, exclude, now);
      break;
    case "master-slave":
      i = pickMasterSlave(state, exclude, now);
      break;
  }
  return state.endpoints[i]?.addr;
}

/**
 * What weight each endpoint effectively gets at `now` in weighted mode (0: ejected or
 * drained), freshly computed. For tests, docs and the console.
 */
export function effectiveWeights(state: BalancerState, now: number): Map<string, number> {
  computeWeights(state, now);
  const out = new Map<string, number>();
  state.endpoints.forEach((e, i) => {
    out.set(e.addr, state.cache.weights[i] as number);
  });
  return out;
}

/** Addresses ejected at `now`. */
export function ejectedEndpoints(state: BalancerState, now: number): string[] {
  return state.endpoints.filter((e) => isEjected(e, now)).map((e) => e.addr);
}
