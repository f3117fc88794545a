import type { BalancerPolicy, BalancerState, EndpointState } from "./types.js";

/** Whether the endpoint is out of rotation at `now`. */
export function isEjected(e: EndpointState, now: number): boolean {
  return e.ejectedUntil !== undefined && now < e.ejectedUntil;
}

/** Whether the endpoint can take traffic at all: base weight > 0, or every endpoint is drained. */
export function isServing(state: BalancerState, e: EndpointState): boolean {
  return e.weight > 0 || state.allDrained;
}

/**
 * How much of the endpoint's evidence still holds at `now`: exp(−idle / forgetMs),
 * idle = time since its last recorded outcome. What the balancer holds against an
 * endpoint fades by this while it gets no calls, so an instance pushed to the floor
 * by a low-traffic client is trusted again after a minute or two instead of waiting
 * for dozens of calls it will never get. Under load (calls every few ms) it is ~1 and
 * changes nothing.
 */
export function retention(e: EndpointState, now: number, p: BalancerPolicy): number {
  if (e.lastOutcomeAt === undefined || now <= e.lastOutcomeAt) return 1;
  return Math.exp(-(now - e.lastOutcomeAt) / p.forgetMs);
}

/** The success score at `now`, faded toward 1 (healthy) by `retention`. */
export function successAt(e: EndpointState, now: number, p: BalancerPolicy): number {
  return 1 - (1 - e.successRate) * retention(e, now, p);
}
