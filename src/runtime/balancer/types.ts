import type { Labels } from "../../core/schemas/naming.js";

/** One instance the client may call, as the name service lists it (already filtered of disabled/draining). */
export interface Endpoint {
  addr: string;
  /** Weight from the name service (registered weight or operator override), 0..10000. */
  weight: number;
  labels: Labels;
}

/** How a client spreads calls over the instances of one service. */
export type BalancerMode =
  /** Weighted random, weights adjusted online by success rate and latency. */
  | { kind: "weighted" }
  /** The same key goes to the same instance while it is available (rendezvous hashing). */
  | { kind: "hash" }
  /**
   * All traffic to the master (the instance labelled `role=master`, else the first by
   * address); to a slave while the master is failing; back to the master once it recovers.
   */
  | { kind: "master-slave" };

/** The outcome of one call, fed back to the balancer. */
export interface CallOutcome {
  addr: string;
  /** False for failures that say something about the instance (unavailable, deadline, internal), not for the caller's own errors (invalid_argument, not_found...). */
  ok: boolean;
  latencyMs: number;
  now: number;
}

/**
 * The knobs of the balancer. Every field has a default (`DEFAULT_POLICY` in `policy.ts`);
 * docs/balancing.md explains each with numbers.
 */
export interface BalancerPolicy {
  /** EWMA step of the success score on a failure (fast: weight drops quickly). */
  successAlphaOnFailure: number;
  /** EWMA step of the success score on a success (slow: weight comes back gradually). */
  successAlphaOnSuccess: number;
  /** Success factor = success score ^ this. */
  successExponent: number;
  /** EWMA step of the latency estimate when a sample is above it (fast). */
  latencyAlphaUp: number;
  /** EWMA step of the latency estimate when a sample is below it (slow). */
  latencyAlphaDown: number;
  /** An instance this many times slower than the median of its peers gets half weight. */
  latencyHalfWeightRatio: number;
  /** Latencies below this count as this, so sub-millisecond noise is not a 5× ratio. */
  latencyFloorMs: number;
  /** Stats never push a weight below this fraction of its base weight. */
  minWeightFraction: number;
  /** Eject after this many failures in a row; 0 turns it off. */
  consecutiveFailures: number;
  /**
   * Eject when the recent success rate (a plain EWMA over about `ejectWindow` calls) falls
   * below this while at least half the peers are above it; 0 turns it off.
   */
  ejectSuccessRate: number;
  /** Window of that rate, in calls; it only counts once this many calls were seen. */
  ejectWindow: number;
  /** First ejection lasts this long; each repeat doubles it. */
  ejectionBaseMs: number;
  /** Cap of the doubling. */
  ejectionMaxMs: number;
  /** An endpoint not ejected for this long starts again at `ejectionBaseMs`. */
  ejectionMemoryMs: number;
  /** Never more than this percentage of the (serving) endpoints ejected at once. */
  maxEjectedPercent: number;
  /** After an ejection (and when a new endpoint joins), the weight ramps up over this window. */
  recoveryWindowMs: number;
  /** Weight factor at the start of that ramp. */
  recoveryStartFactor: number;
  /** Master/slave: a returning master gets one probe call, and another after this long without an answer. */
  probeIntervalMs: number;
  /** Without calls, evidence against an endpoint fades with this time constant. */
  forgetMs: number;
  /** `pick` recomputes cached weights at most this often when only stats or ramps changed. */
  refreshMs: number;
}

/** What the balancer knows of one endpoint. Plain data. */
export interface EndpointState {
  addr: string;
  /** Base weight from the name service, 0..10000. 0: drained, never picked. */
  weight: number;
  labels: Endpoint["labels"];
  /** Pessimistic EWMA of the success indicator, 0..1, starts at 1. */
  successRate: number;
  /** Pessimistic EWMA of latency in ms; undefined until the first sample (then neutral). */
  latencyMs: number | undefined;
  /** Plain (symmetric) EWMA of the success indicator over ~`ejectWindow` calls, for ejection. */
  recentSuccessRate: number;
  /** When its last outcome was recorded; the evidence fades from there (`forgetMs`). */
  lastOutcomeAt: number | undefined;
  /** Outcomes counted since the endpoint joined or last came back from an ejection. */
  samples: number;
  consecutiveFailures: number;
  /** Ejected while `now < ejectedUntil`. Outcomes of calls started before it are ignored. */
  ejectedUntil: number | undefined;
  /** Ejections in a row (reset after `ejectionMemoryMs` without one); sets the next duration. */
  ejections: number;
  /**
   * Back from an ejection and no success seen yet: one failure ejects again, and a
   * master/slave master only gets probe traffic.
   */
  probing: boolean;
  /** Master/slave: when the last probe call was handed out. */
  probeSentAt: number | undefined;
  /** Start of the slow-start ramp (end of the last ejection, or when it joined), if any. */
  recoveryStart: number | undefined;
  /** 32-bit hash of the address, for rendezvous hashing. */
  addrHash: number;
}

/** Effective weights as last computed, so `pick` stays O(n) (O(log n) without exclusions). */
export interface WeightCache {
  /** False forces a recompute (endpoint list or ejections changed). */
  valid: boolean;
  /** Stats changed since `computedAt`. */
  dirty: boolean;
  /** Some endpoint is on its slow-start ramp or has evidence fading, so weights drift with time. */
  ramping: boolean;
  computedAt: number;
  /** Earliest time a cached fact expires by itself (an ejection ends). */
  expiresAt: number;
  /** Effective weight per endpoint index; 0 for ejected or drained endpoints. */
  weights: Float64Array;
  /** Running sums of `weights`, for binary search. */
  cumulative: Float64Array;
  total: number;
  /** How many endpoints have a weight > 0 in `weights`. */
  positive: number;
  /** Scratch space for the sorted indexes of excluded endpoints. */
  excluded: Int32Array;
  /** Scratch space for the latency median. */
  scratch: Float64Array;
}

/** The balancer of one service in one client. Plain data, mutated in place by the functions. */
export interface BalancerState {
  policy: BalancerPolicy;
  /** In the order of the last `setEndpoints`, without duplicates. */
  endpoints: EndpointState[];
  index: Map<string, number>;
  /** Every endpoint has base weight 0: treat them all as weight 1. */
  allDrained: boolean;
  /** Every serving endpoint has the same base weight (hash mode's fast path). */
  equalWeights: boolean;
  /** Endpoint indexes in master/slave order: master, labelled slaves, then the rest by addr. */
  masterOrder: number[];
  cache: WeightCache;
}

export interface PickOptions {
  mode: BalancerMode;
  /** Hash mode: the key (user id, session...). Without it, hash mode picks as weighted. */
  key?: string;
  /** Addresses not to pick: those a retry already tried. */
  exclude?: ReadonlySet<string>;
  now: number;
  /** Uniform in [0, 1), like Math.random. */
  rand: () => number;
}
