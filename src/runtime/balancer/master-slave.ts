import { isEjected, isServing } from "./ejection.js";
import type { BalancerState, EndpointState } from "./types.js";

const byAddr = (a: EndpointState, b: EndpointState) =>
  a.addr < b.addr ? -1 : a.addr > b.addr ? 1 : 0;

/**
 * Endpoint indexes in failover order: the master (labelled `role=master`, else the
 * first by address that is not labelled `role=slave`), then the `role=slave` ones by
 * address, then the rest by address. Computed when the endpoint list changes.
 */
export function masterSlaveOrder(endpoints: readonly EndpointState[]): number[] {
  const sorted = [...endpoints].sort(byAddr);
  const masters = sorted.filter((e) => e.labels.role === "master");
  const slaves = sorted.filter((e) => e.labels.role === "slave");
  const others = sorted.filter((e) => e.labels.role !== "master" && e.labels.role !== "slave");
  const order =
    masters.length > 0
      ? [...masters, ...slaves, ...others]
      : [...others.slice(0, 1), ...slaves, ...others.slice(1)];
  const index = new Map(endpoints.map((e, i) => [e, i]));
  return order.map((e) => index.get(e) as number);
}

/**
 * The first endpoint in failover order that is not excluded, drained or ejected. One
 * just back from an ejection (no success yet) gets only probe traffic — a share of
 * `recoveryStartFactor` — and all of it again after its first success. When nothing
 * healthy is left: a probing endpoint, else the first ejected one. -1 if all are
 * excluded.
 */
export function pickMasterSlave(
  state: BalancerState,
  exclude: ReadonlySet<string> | undefined,
  now: number,
  rand: () => number,
): number {
  const checkExclude = exclude !== undefined && exclude.size > 0;
  let probing = -1;
  let ejected = -1;
  for (const i of state.masterOrder) {
    const e = state.endpoints[i] as EndpointState;
    if (!isServing(state, e) || (checkExclude && exclude.has(e.addr))) continue;
    if (isEjected(e, now)) {
      if (ejected < 0) ejected = i;
    } else if (e.probing && rand() >= state.policy.recoveryStartFactor) {
      if (probing < 0) probing = i;
    } else {
      return i;
    }
  }
  return probing >= 0 ? probing : ejected;
}
