import { isEjected, isServing, retention, successAt } from "./endpoint.js";
import type { BalancerPolicy, BalancerState, EndpointState } from "./types.js";

/*
 * Effective weight = base × max(minWeightFraction, success × latency × recovery), the
 * success and latency penalties faded by the time since the endpoint's last call
 * (`retention`).
 *
 * Effective weights are cached in `state.cache` and recomputed by `pick` only when
 * something changed: at once when the endpoint list or an ejection changed (never
 * route to an ejected endpoint), and at most every `refreshMs` (5 ms) when only stats
 * moved or a slow-start ramp advanced. A recompute costs O(n log n) (the latency
 * median): ~4 µs for 100 endpoints on a modest server, so at most ~1 ms of CPU per
 * second however high the call rate, while a weight that lags by 5 ms changes nothing
 * measurable — the stats themselves move over tens of calls. Between recomputes a pick is a
 * binary search over running sums: O(log n) (O(k log k + log n) with k exclusions),
 * no allocation.
 */

/** Success factor: the success score raised to `successExponent` (1 = healthy). */
export function successFactor(successRate: number, p: BalancerPolicy): number {
  return successRate ** p.successExponent;
}

/**
 * Latency factor from the ratio r = own latency / reference (the median of the peers):
 * 1 when r ≤ 1 (faster instances are not boosted: base weights keep their meaning),
 * else 1 / (1 + ((r − 1) / (h − 1))²) with h = `latencyHalfWeightRatio`. With h = 2:
 * 1.5× → 0.8, 2× → 0.5, 3× → 0.2, 5× → 0.059, 10× → 0.012.
 */
export function latencyFactor(
  latencyMs: number | undefined,
  referenceMs: number | undefined,
  p: BalancerPolicy,
): number {
  if (latencyMs === undefined || referenceMs === undefined) return 1;
  const ratio = Math.max(latencyMs, p.latencyFloorMs) / Math.max(referenceMs, p.latencyFloorMs);
  if (!(ratio > 1)) return 1;
  const x = (ratio - 1) / (p.latencyHalfWeightRatio - 1);
  return 1 / (1 + x * x);
}

/** Slow start: linear from `recoveryStartFactor` to 1 over `recoveryWindowMs` after `recoveryStart`. */
export function recoveryFactor(e: EndpointState, now: number, p: BalancerPolicy): number {
  if (e.recoveryStart === undefined) return 1;
  const elapsed = now - e.recoveryStart;
  if (elapsed >= p.recoveryWindowMs) return 1;
  if (elapsed <= 0) return p.recoveryStartFactor;
  return p.recoveryStartFactor + ((1 - p.recoveryStartFactor) * elapsed) / p.recoveryWindowMs;
}

/** Index of the first element ≥ x in the ascending `sorted[0..length)`. */
function lowerBound(sorted: Float64Array, length: number, x: number): number {
  let lo = 0;
  let hi = length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as number) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Median of `sorted[0..length)` without the element at `self`; undefined if none is left. */
export function medianWithout(
  sorted: Float64Array,
  length: number,
  self: number,
): number | undefined {
  const k = length - 1;
  if (k <= 0) return undefined;
  const at = (j: number) => sorted[j < self ? j : j + 1] as number;
  return (at((k - 1) >> 1) + at(k >> 1)) / 2;
}

/** Recomputes every effective weight into the cache (see the comment at the top). */
export function computeWeights(state: BalancerState, now: number): void {
  const p = state.policy;
  const c = state.cache;
  const { endpoints } = state;

  // Latency reference: the serving, non-ejected endpoints that have an estimate.
  let m = 0;
  for (const e of endpoints) {
    if (e.latencyMs !== undefined && isServing(state, e) && !isEjected(e, now)) {
      c.scratch[m++] = e.latencyMs;
    }
  }
  const sorted = c.scratch.subarray(0, m).sort();

  let total = 0;
  let positive = 0;
  let ramping = false;
  let expiresAt = Number.POSITIVE_INFINITY;
  for (let i = 0; i < endpoints.length; i++) {
    const e = endpoints[i] as EndpointState;
    let w = 0;
    if (isEjected(e, now)) {
      expiresAt = Math.min(expiresAt, e.ejectedUntil as number);
    } else if (isServing(state, e)) {
      const base = state.allDrained ? 1 : e.weight;
      const reference =
        e.latencyMs === undefined
          ? undefined
          : medianWithout(sorted, m, lowerBound(sorted, m, e.latencyMs));
      const recovery = recoveryFactor(e, now, p);
      const kept = retention(e, now, p);
      const latency = 1 - (1 - latencyFactor(e.latencyMs, reference, p)) * kept;
      const stats = successFactor(successAt(e, now, p), p) * latency;
      if (recovery < 1 || stats < 1) ramping = true;
      w = base * Math.max(p.minWeightFraction, stats * recovery);
    }
    c.weights[i] = w;
    if (w > 0) positive++;
    total += w;
    c.cumulative[i] = total;
  }
  c.total = total;
  c.positive = positive;
  c.ramping = ramping;
  c.expiresAt = expiresAt;
  c.computedAt = now;
  c.valid = true;
  c.dirty = false;
}

/** Recomputes the cached weights if they are stale by the rules at the top of this file. */
export function refreshWeights(state: BalancerState, now: number): void {
  const c = state.cache;
  if (
    !c.valid ||
    now >= c.expiresAt ||
    now < c.computedAt ||
    ((c.dirty || c.ramping) && now - c.computedAt >= state.policy.refreshMs)
  ) {
    computeWeights(state, now);
  }
}
