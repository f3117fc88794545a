import { isEjected, isServing } from "./endpoint.js";
import type { BalancerState, EndpointState } from "./types.js";

const byAddr = (a: EndpointState, b: EndpointState) =>
  a.addr < b.addr ? -1 : a.addr > b.addr ? 1 : 0;

const rank = (e: EndpointState) =>
  e.labels.role === "master" ? 0 : e.labels.role === "slave" ? 1 : 2;

/**
 * Endpoint indexes in failover order: `role=master`, then `role=slave`, then the rest,
 * each group by address. Without labels the master is the first by address and the
 * slave the next; with the master gone from the list, the labelled slave leads.
 * Computed when the endpoint list changes.
 */
export function masterSlaveOrder(endpoints: readonly EndpointState[]): number[] {
  return endpoints
    .map((_, i) => i)
    .sort((i, j) => {
      const a = endpoints[i] as EndpointState;
      const b = endpoints[j] as EndpointState;
      return rank(a) - rank(b) || byAddr(a, b);
    });
}

/**
 * The first endpoint in failover order that is not excluded, drained or ejected. One
 * just back from an ejection (no success yet) is probed with a single call — the first
 * pick after its ejection ends, then one every `probeIntervalMs` while no outcome came
 * back — and the other calls go down the line; its first success brings all traffic
 * back, a failure ejects it again. When nothing healthy is left: a probing endpoint,
 * else the first ejected one. -1 if all are excluded. (Records the probe's time in the
 * endpoint: the one write `pick` does.)
 */
export function pickMasterSlave(
  state: BalancerState,
  exclude: ReadonlySet<string> | undefined,
  now: number,
): number {
  const checkExclude = exclude !== undefined && exclude.size > 0;
  let probing = -1;
  let ejected = -1;
  for (const i of state.masterOrder) {
    const e = state.endpoints[i] as EndpointState;
    if (!isServing(state, e) || (checkExclude && exclude.has(e.addr))) continue;
    if (isEjected(e, now)) {
      if (ejected < 0) ejected = i;
    } else if (!e.probing) {
      return i;
    } else if (
      e.probeSentAt === undefined ||
      now - e.probeSentAt >= state.policy.probeIntervalMs ||
      now < e.probeSentAt
    ) {
      e.probeSentAt = now;
      return i;
    } else if (probing < 0) {
      probing = i;
    }
  }
  return probing >= 0 ? probing : ejected;
}
