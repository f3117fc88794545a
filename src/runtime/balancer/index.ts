/**
 * The RPC client's load balancer: pure functions over a plain `BalancerState`, with
 * the clock and randomness passed in. Weighted random with weights adjusted online by
 * success rate and latency, outlier ejection under a protection threshold, rendezvous
 * hashing by key, and master/slave. See docs/balancing.md.
 *
 * @example
 * const lb = createBalancer(); // or createBalancer({ maxEjectedPercent: 30 })
 * setEndpoints(lb, await names.resolve("Login.Auth"), Date.now());
 * const addr = pick(lb, { mode: { kind: "weighted" }, now: Date.now(), rand: Math.random });
 * // ... call addr, then:
 * recordOutcome(lb, { addr, ok: true, latencyMs: 12, now: Date.now() });
 * // a retry of an idempotent call goes elsewhere:
 * pick(lb, { mode: { kind: "hash" }, key: userId, exclude: new Set([addr]), now, rand });
 */
export {
  createBalancer,
  effectiveWeights,
  ejectedEndpoints,
  pick,
  setEndpoints,
} from "./balancer.js";
export { DEFAULT_POLICY, resolvePolicy } from "./policy.js";
export { recordOutcome } from "./stats.js";
export type {
  BalancerMode,
  BalancerPolicy,
  BalancerState,
  CallOutcome,
  Endpoint,
  EndpointState,
  PickOptions,
} from "./types.js";
