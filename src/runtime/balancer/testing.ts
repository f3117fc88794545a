/**
 * Deterministic helpers for the balancer's tests (and anyone simulating it): a seeded
 * PRNG and a closed-loop call simulator. Not part of the public face (`index.ts`).
 */
import { pick } from "./balancer.js";
import { recordOutcome } from "./stats.js";
import type { BalancerMode, BalancerState } from "./types.js";

/** mulberry32: a tiny seeded PRNG, uniform in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Behaviour {
  ok: boolean;
  latencyMs: number;
}

export interface SimulateOptions {
  mode?: BalancerMode;
  calls: number;
  /** Time of the first call. */
  start: number;
  /** Time between calls (ms). */
  step?: number;
  rand: () => number;
  /** How the instance at `addr` answers a call made at `now`. */
  behave: (addr: string, now: number) => Behaviour;
  key?: (call: number) => string;
}

export interface SimulateResult {
  /** Calls per address. */
  counts: Map<string, number>;
  /** Time after the last call. */
  end: number;
}

/** Picks, "calls" and records `calls` times; each outcome is recorded at its call's time. */
export function simulate(state: BalancerState, o: SimulateOptions): SimulateResult {
  const counts = new Map<string, number>(state.endpoints.map((e) => [e.addr, 0]));
  const step = o.step ?? 1;
  const mode = o.mode ?? { kind: "weighted" };
  let now = o.start;
  for (let c = 0; c < o.calls; c++, now += step) {
    const key = o.key?.(c);
    const addr = pick(
      state,
      key === undefined ? { mode, now, rand: o.rand } : { mode, key, now, rand: o.rand },
    );
    if (addr === undefined) continue;
    counts.set(addr, (counts.get(addr) ?? 0) + 1);
    const { ok, latencyMs } = o.behave(addr, now);
    recordOutcome(state, { addr, ok, latencyMs, now });
  }
  return { counts, end: now };
}

/** Shares (0..1) of each address in `counts`. */
export function shares(counts: ReadonlyMap<string, number>): Map<string, number> {
  let total = 0;
  for (const n of counts.values()) total += n;
  return new Map([...counts].map(([a, n]) => [a, total === 0 ? 0 : n / total]));
}

/** Pearson's chi-square statistic of observed counts against expected proportions. */
export function chiSquare(observed: readonly number[], weights: readonly number[]): number {
  const n = observed.reduce((s, x) => s + x, 0);
  const w = weights.reduce((s, x) => s + x, 0);
  let chi = 0;
  observed.forEach((o, i) => {
    const expected = (n * (weights[i] ?? 0)) / w;
    chi += ((o - expected) * (o - expected)) / expected;
  });
  return chi;
}
