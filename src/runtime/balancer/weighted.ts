import { isServing } from "./endpoint.js";
import type { BalancerState, EndpointState } from "./types.js";
import { refreshWeights } from "./weights.js";

/**
 * Weighted random over the cached effective weights: a binary search over their
 * running sums. Excluded endpoints (retries) are cut out of the line before the
 * search, so a retry costs O(k log k + log n) for k exclusions, not a scan. When every
 * candidate is ejected, picks among them by base weight rather than fail. Returns
 * the endpoint index, or -1 when every endpoint is excluded or drained.
 */
export function pickWeighted(
  state: BalancerState,
  exclude: ReadonlySet<string> | undefined,
  now: number,
  rand: () => number,
): number {
  refreshWeights(state, now);
  const c = state.cache;
  const { weights, cumulative } = c;

  // Sorted indexes of the excluded endpoints that have a weight, and their total.
  let k = 0;
  let excludedWeight = 0;
  if (exclude !== undefined && exclude.size > 0) {
    for (const a of exclude) {
      const j = state.index.get(a);
      if (j === undefined || (weights[j] as number) === 0) continue;
      excludedWeight += weights[j] as number;
      let q = k++;
      while (q > 0 && (c.excluded[q - 1] as number) > j) {
        c.excluded[q] = c.excluded[q - 1] as number;
        q--;
      }
      c.excluded[q] = j;
    }
  }
  if (k === c.positive) return pickByBase(state, exclude, rand);

  // A point on the line of the remaining weights, mapped onto the full line by
  // stepping over each excluded interval that starts at or before it.
  let r = rand() * (c.total - excludedWeight);
  for (let q = 0; q < k; q++) {
    const j = c.excluded[q] as number;
    if ((j === 0 ? 0 : (cumulative[j - 1] as number)) > r) break;
    r += weights[j] as number;
  }
  let lo = 0;
  let hi = state.endpoints.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((cumulative[mid] as number) > r) hi = mid;
    else lo = mid + 1;
  }
  if (usable(state, lo, k)) return lo;
  // Only at the float edges (rand() = 1, rounding): the nearest usable one.
  for (let i = lo - 1; i >= 0; i--) if (usable(state, i, k)) return i;
  for (let i = lo + 1; i < state.endpoints.length; i++) if (usable(state, i, k)) return i;
  return -1;
}

function usable(state: BalancerState, i: number, excludedCount: number): boolean {
  if ((state.cache.weights[i] as number) === 0) return false;
  for (let q = 0; q < excludedCount; q++) if (state.cache.excluded[q] === i) return false;
  return true;
}

/** The last resort: serving, non-excluded endpoints (ejected ones too) by base weight. */
function pickByBase(
  state: BalancerState,
  exclude: ReadonlySet<string> | undefined,
  rand: () => number,
): number {
  const { endpoints, allDrained } = state;
  let total = 0;
  for (const e of endpoints) {
    if (isServing(state, e) && !exclude?.has(e.addr)) total += allDrained ? 1 : e.weight;
  }
  if (total === 0) return -1;
  let r = rand() * total;
  let last = -1;
  for (let i = 0; i < endpoints.length; i++) {
    const e = endpoints[i] as EndpointState;
    if (!isServing(state, e) || exclude?.has(e.addr)) continue;
    r -= allDrained ? 1 : e.weight;
    last = i;
    if (r < 0) break;
  }
  return last;
}
