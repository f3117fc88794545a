import { eject, shouldEject } from "./ejection.js";
import { retention } from "./endpoint.js";
import type { BalancerState, CallOutcome } from "./types.js";

/**
 * Feeds one call's outcome back: updates the endpoint's success score and latency
 * estimate, and ejects it when it crosses a threshold (and the protection threshold
 * allows). Outcomes for unknown addresses, and of calls started before the endpoint's
 * last ejection ended (stragglers, fallbacks), are ignored.
 *
 * The success score and the latency estimate are pessimistic EWMAs: a failure or a
 * slower sample moves them a lot (0.2), a success or a faster sample a little (0.05),
 * counted in calls so that an error *rate* weighs the same at 1 or 10 000 calls/s.
 * Old evidence fades with time between calls (see `retention`).
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

  // Fade the old evidence up to now, then add the new.
  const kept = retention(e, now, p);
  e.successRate = 1 - (1 - e.successRate) * kept;
  e.recentSuccessRate = 1 - (1 - e.recentSuccessRate) * kept;
  if (e.lastOutcomeAt === undefined || now > e.lastOutcomeAt) e.lastOutcomeAt = now;
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
        e.latencyMs += Math.max(alpha, 1 - kept) * (latency - e.latencyMs);
      }
    }
    return;
  }

  e.successRate -= p.successAlphaOnFailure * e.successRate;
  e.consecutiveFailures++;
  // A failure can only make an endpoint look slower: a refused connection fails in
  // microseconds, and must not pass for a fast instance; a timeout is a real signal.
  if (latency !== undefined && e.latencyMs !== undefined && latency > e.latencyMs) {
    e.latencyMs += Math.max(p.latencyAlphaUp, 1 - kept) * (latency - e.latencyMs);
  }
  if (shouldEject(state, e, now)) eject(state, e, now);
}
