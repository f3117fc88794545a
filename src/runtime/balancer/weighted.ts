import { isServing } from "./ejection.js";
import type { BalancerState, EndpointState } from "./types.js";
import { refreshWeights } from "./weights.js";

/**
 * Weighted random over the cached effective weights: a binary search over their
 * running sums, or one linear pass when some addresses are excluded (retries). When
 * every candidate is ejected, picks among them by base weight rather than fail.
 * Returns the endpoint index, or -1 when every endpoint is excluded or drained.
 */
export function pickWeighted(
  state: BalancerState,
  exclude: ReadonlySet<string> | undefined,
  now: number,
  rand: () => number,
): number {
  refreshWeights(state, now);
  const { weights, cumulative } = state.cache;
  const n = state.endpoints.length;
  if (exclude === undefined || exclude.size === 0) {
    const total = state.cache.total;
    if (total > 0) {
      const r = rand() * total;
      let lo = 0;
      let hi = n - 1;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if ((cumulative[mid] as number) > r) hi = mid;
        else lo = mid + 1;
      }
      // Only reachable with weight 0 at lo if rand() returned 1: step back to a real one.
      while (lo > 0 && (weights[lo] as number) === 0) lo--;
      return lo;
    }
    return pickByBase(state, undefined, rand);
  }

  let total = 0;
  for (let i = 0; i < n; i++) {
    const w = weights[i] as number;
    if (w > 0 && !exclude.has((state.endpoints[i] as EndpointState).addr)) total += w;
  }
  if (total === 0) return pickByBase(state, exclude, rand);
  let r = rand() * total;
  let last = -1;
  for (let i = 0; i < n; i++) {
    const w = weights[i] as number;
    if (w === 0 || exclude.has((state.endpoints[i] as EndpointState).addr)) continue;
    r -= w;
    last = i;
    if (r < 0) break;
  }
  return last;
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
