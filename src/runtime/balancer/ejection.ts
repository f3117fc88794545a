import { isEjected, isServing, retention } from "./endpoint.js";
import type { BalancerState, EndpointState } from "./types.js";

/**
 * Whether a failure just recorded for `e` calls for its ejection: it is back from an
 * ejection and failed before any success (a failed probe), or it failed
 * `consecutiveFailures` times in a row, or its recent success rate is below
 * `ejectSuccessRate` over at least `ejectWindow` calls while its peers do better.
 */
export function shouldEject(state: BalancerState, e: EndpointState, now: number): boolean {
  const p = state.policy;
  if (e.probing) return true; // back from an ejection, and failed before any success
  if (p.consecutiveFailures > 0 && e.consecutiveFailures >= p.consecutiveFailures) return true;
  return (
    p.ejectSuccessRate > 0 &&
    e.samples >= p.ejectWindow &&
    e.recentSuccessRate < p.ejectSuccessRate &&
    peersAreHealthy(state, e, now)
  );
}

/**
 * At least half of the other serving, non-ejected endpoints have a recent success rate
 * at or above the ejection threshold. When everything fails alike (a shared database is
 * down), a low score says nothing about this instance, and ejecting it only piles its
 * load onto the others.
 */
function peersAreHealthy(state: BalancerState, self: EndpointState, now: number): boolean {
  let peers = 0;
  let healthy = 0;
  for (const e of state.endpoints) {
    if (e === self || !isServing(state, e) || isEjected(e, now)) continue;
    peers++;
    const recent = 1 - (1 - e.recentSuccessRate) * retention(e, now, state.policy);
    if (recent >= state.policy.ejectSuccessRate) healthy++;
  }
  return peers > 0 && healthy * 2 >= peers;
}

/** How long the endpoint's `n`-th ejection in a row lasts (n ≥ 1). */
export function ejectionDuration(state: BalancerState, n: number): number {
  const p = state.policy;
  return Math.min(p.ejectionMaxMs, p.ejectionBaseMs * 2 ** Math.min(n - 1, 40));
}

/**
 * Ejects `e` unless that would put more than `maxEjectedPercent` of the serving
 * endpoints out at once (the protection threshold); then it stays in at its low
 * weight, and the next failure tries again. Returns whether it was ejected.
 */
export function eject(state: BalancerState, e: EndpointState, now: number): boolean {
  if (!isServing(state, e) || isEjected(e, now)) return false;
  let serving = 0;
  let ejected = 0;
  for (const x of state.endpoints) {
    if (!isServing(state, x)) continue;
    serving++;
    if (isEjected(x, now)) ejected++;
  }
  const limit = Math.floor((serving * state.policy.maxEjectedPercent) / 100);
  if (ejected + 1 > limit) return false;

  if (e.ejectedUntil !== undefined && now - e.ejectedUntil >= state.policy.ejectionMemoryMs) {
    e.ejections = 0;
  }
  e.ejections++;
  e.ejectedUntil = now + ejectionDuration(state, e.ejections);
  e.recoveryStart = e.ejectedUntil;
  e.probing = true;
  e.probeSentAt = undefined;
  // It comes back with a clean slate; the slow-start ramp is what holds it back then.
  e.successRate = 1;
  e.recentSuccessRate = 1;
  e.latencyMs = undefined;
  e.consecutiveFailures = 0;
  e.samples = 0;
  e.lastOutcomeAt = undefined;
  state.cache.valid = false;
  return true;
}
