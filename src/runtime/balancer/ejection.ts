import type { BalancerState, CallOutcome, EndpointState } from "./types.js";

/** Whether the endpoint is out of rotation at `now`. */
export function isEjected(e: EndpointState, now: number): boolean {
  return e.ejectedUntil !== undefined && now < e.ejectedUntil;
}

/** Whether the endpoint can take traffic at all: base weight > 0, or every endpoint is drained. */
export function isServing(state: BalancerState, e: EndpointState): boolean {
  return e.weight > 0 || state.allDrained;
}

/**
 * Feeds one call's outcome back: updates the endpoint's success score and latency
 * estimate, and ejects it when it crosses a threshold (and the protection threshold
 * allows). Outcomes for unknown addresses, and of calls started before the endpoint's
 * last ejection ended (stragglers, fallbacks), are ignored.
 */
export function recordOutcome(state: BalancerState, outcome: CallOutcome): void {
  const i = state.index.get(outcome.addr);
  if (i === undefined) return;
  const e = state.endpoints[i];
  if (e === undefined) return;
  const p = state.policy;
  const { now } = outcome;
  const latency = Number.isFinite(outcome.latencyMs) ? Math.max(0, outcome.latencyMs) : undefined;
  if (e.ejectedUntil !== undefined && now - (latency ?? 0) < e.ejectedUntil) return;

  e.samples++;
  e.recentSuccessRate += ((outcome.ok ? 1 : 0) - e.recentSuccessRate) * (2 / (p.ejectWindow + 1));
  state.cache.dirty = true;
  if (outcome.ok) {
    e.successRate += p.successAlphaOnSuccess * (1 - e.successRate);
    e.consecutiveFailures = 0;
    e.probing = false;
    if (latency !== undefined) {
      if (e.latencyMs === undefined) e.latencyMs = latency;
      else {
        const alpha = latency > e.latencyMs ? p.latencyAlphaUp : p.latencyAlphaDown;
        e.latencyMs += alpha * (latency - e.latencyMs);
      }
    }
    return;
  }

  e.successRate -= p.successAlphaOnSuccess * e.successRate;
  e.consecutiveFailures++;
  // A failure can only make an endpoint look slower: a refused connection fails in
  // microseconds, and must not pass for a fast instance; a timeout is a real signal.
  if (latency !== undefined && e.latencyMs !== undefined && latency > e.latencyMs) {
    e.latencyMs += p.latencyAlphaUp * (latency - e.latencyMs);
  }
  if (shouldEject(state, e, now)) eject(state, e, now);
}

function shouldEject(state: BalancerState, e: EndpointState, now: number): boolean {
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
    if (e.recentSuccessRate >= state.policy.ejectSuccessRate) healthy++;
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
  // It comes back with a clean slate; the slow-start ramp is what holds it back then.
  e.successRate = 1;
  e.recentSuccessRate = 1;
  e.latencyMs = undefined;
  e.consecutiveFailures = 0;
  e.samples = 0;
  state.cache.valid = false;
  return true;
}
