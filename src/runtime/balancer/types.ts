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
