import { describe, expect, it } from "vitest";
import { createBalancer, ejectedEndpoints, pick, setEndpoints } from "./balancer.js";
import { fmix32, fnv1a32 } from "./hash.js";
import { recordOutcome } from "./stats.js";
import { chiSquare, mulberry32 } from "./testing.js";
import type { BalancerState, Endpoint } from "./types.js";

const addr = (i: number) => `10.0.${i >> 8}.${(i & 255) + 1}:8080`;
const endpoints = (weights: readonly number[]): Endpoint[] =>
  weights.map((weight, i) => ({ addr: addr(i), weight, labels: {} }));
const HASH = { kind: "hash" } as const;
const KEYS = Array.from({ length: 20_000 }, (_, i) => `user-${i}`);

function route(lb: BalancerState, keys: readonly string[], now = 0, exclude?: ReadonlySet<string>) {
  return keys.map((key) => {
    const opts = { mode: HASH, key, now, rand: () => Math.random() };
    return pick(lb, exclude ? { ...opts, exclude } : opts) as string;
  });
}
function tally(routes: readonly string[], n: number): number[] {
  const counts = new Array<number>(n).fill(0);
  for (const r of routes) {
    const i = Array.from({ length: n }, (_, j) => addr(j)).indexOf(r);
    counts[i] = (counts[i] ?? 0) + 1;
  }
  return counts;
}

/** FNV-1a 32 the textbook way, over TextEncoder's bytes. */
function referenceFnv(s: string): number {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(s)) h = Math.imul(h ^ b, 0x01000193);
  return h >>> 0;
}

describe("hash functions", () => {
  it("FNV-1a 32 matches the published test vectors", () => {
    expect(fnv1a32("")).toBe(0x811c9dc5);
    expect(fnv1a32("a")).toBe(0xe40c292c);
    expect(fnv1a32("foobar")).toBe(0xbf9cf968);
  });

  it("FNV-1a 32 hashes the UTF-8 bytes, surrogate pairs and lone surrogates included", () => {
    for (const s of ["é", "zoné-ß", "深圳", "user:🙂", "x\ud800y", "\udc00", "\ud83d", "𝄞𝄞a"]) {
      expect(fnv1a32(s)).toBe(referenceFnv(s));
    }
    const rand = mulberry32(21);
    for (let i = 0; i < 500; i++) {
      const s = String.fromCharCode(
        ...Array.from({ length: 1 + Math.floor(rand() * 12) }, () => Math.floor(rand() * 0x10000)),
      );
      expect(fnv1a32(s)).toBe(referenceFnv(s));
    }
  });

  it("fmix32 is MurmurHash3's finalizer (murmur3_32 of the empty string = fmix32(seed))", () => {
    expect(fmix32(0)).toBe(0);
    expect(fmix32(1)).toBe(0x514e28b7);
    expect(fmix32(0xffffffff)).toBe(0x81f16f39);
  });
});

describe("hash mode", () => {
  it("sends the same key to the same endpoint, whatever the list order or the rand", () => {
    const lb = createBalancer();
    setEndpoints(lb, endpoints([100, 100, 100, 100, 100]), 0);
    const first = route(lb, KEYS);
    expect(route(lb, KEYS)).toEqual(first);
    const shuffled = createBalancer();
    setEndpoints(shuffled, endpoints([100, 100, 100, 100, 100]).reverse(), 0);
    expect(route(shuffled, KEYS)).toEqual(first);
  });

  it("spreads keys evenly over equal weights", () => {
    const lb = createBalancer();
    setEndpoints(lb, endpoints([100, 100, 100, 100, 100]), 0);
    const counts = tally(route(lb, KEYS), 5);
    expect(chiSquare(counts, [1, 1, 1, 1, 1])).toBeLessThan(18.47); // df 4, p 0.001
  });

  it("spreads keys in proportion to base weights", () => {
    const lb = createBalancer();
    const weights = [100, 200, 300, 400];
    setEndpoints(lb, endpoints(weights), 0);
    const counts = tally(route(lb, KEYS), 4);
    expect(chiSquare(counts, weights)).toBeLessThan(16.27); // df 3, p 0.001
    expect(chiSquare(counts, [1, 1, 1, 1])).toBeGreaterThan(1000);
  });

  it("removing one of 5 endpoints moves only that endpoint's keys (~1/5)", () => {
    const lb = createBalancer();
    setEndpoints(lb, endpoints([100, 100, 100, 100, 100]), 0);
    const before = route(lb, KEYS);
    setEndpoints(
      lb,
      endpoints([100, 100, 100, 100, 100]).filter((e) => e.addr !== addr(2)),
      1,
    );
    const after = route(lb, KEYS, 1);
    let moved = 0;
    before.forEach((b, i) => {
      if (b !== after[i]) {
        moved++;
        expect(b).toBe(addr(2));
      } else {
        expect(b).not.toBe(addr(2));
      }
    });
    expect(moved / KEYS.length).toBeGreaterThan(0.18);
    expect(moved / KEYS.length).toBeLessThan(0.22);
    // ...and the moved keys spread over the 4 others, not onto one.
    const targets = tally(
      after.filter((_, i) => before[i] === addr(2)),
      5,
    );
    expect(targets[2]).toBe(0);
    for (const j of [0, 1, 3, 4]) expect((targets[j] as number) / moved).toBeGreaterThan(0.2);
  });

  it("adding a 6th endpoint moves ~1/6 of the keys, all to the newcomer", () => {
    const lb = createBalancer();
    setEndpoints(lb, endpoints([100, 100, 100, 100, 100]), 0);
    const before = route(lb, KEYS);
    setEndpoints(lb, endpoints([100, 100, 100, 100, 100, 100]), 1);
    const after = route(lb, KEYS, 1);
    const moved = after.filter((a, i) => a !== before[i]);
    expect(new Set(moved)).toEqual(new Set([addr(5)]));
    expect(moved.length / KEYS.length).toBeGreaterThan(0.15);
    expect(moved.length / KEYS.length).toBeLessThan(0.183);
  });

  it("moves an ejected endpoint's keys to their runner-up, and back when it returns", () => {
    const lb = createBalancer();
    setEndpoints(lb, endpoints([100, 100, 100, 100, 100]), 0);
    const before = route(lb, KEYS);
    for (let i = 0; i < 5; i++)
      recordOutcome(lb, { addr: addr(2), ok: false, latencyMs: 1, now: 1 });
    expect(ejectedEndpoints(lb, 1)).toEqual([addr(2)]);
    const during = route(lb, KEYS, 2);

    const removed = createBalancer();
    setEndpoints(
      removed,
      endpoints([100, 100, 100, 100, 100]).filter((e) => e.addr !== addr(2)),
      0,
    );
    expect(during).toEqual(route(removed, KEYS));
    expect(during.filter((a, i) => a !== before[i]).length).toBe(
      before.filter((a) => a === addr(2)).length,
    );

    expect(route(lb, KEYS, 20_000)).toEqual(before);
  });

  it("sends an excluded key's retry to its runner-up, other keys stay", () => {
    const lb = createBalancer();
    setEndpoints(lb, endpoints([100, 100, 100, 100, 100]), 0);
    const removed = createBalancer();
    setEndpoints(
      removed,
      endpoints([100, 100, 100, 100, 100]).filter((e) => e.addr !== addr(2)),
      0,
    );
    const exclude = new Set([addr(2)]);
    expect(route(lb, KEYS, 0, exclude)).toEqual(route(removed, KEYS));
    expect(
      pick(lb, {
        mode: HASH,
        key: "k",
        exclude: new Set(endpoints([1, 1, 1, 1, 1]).map((e) => e.addr)),
        now: 0,
        rand: Math.random,
      }),
    ).toBeUndefined();
  });

  it("keeps keys in place while latencies shift effective weights", () => {
    const lb = createBalancer();
    setEndpoints(lb, endpoints([100, 100, 100, 100, 100]), 0);
    const before = route(lb, KEYS);
    for (let i = 0; i < 50; i++) {
      for (let j = 0; j < 5; j++)
        recordOutcome(lb, { addr: addr(j), ok: true, latencyMs: j === 1 ? 100 : 10, now: i });
    }
    expect(route(lb, KEYS, 100)).toEqual(before);
  });

  it("falls back to an ejected endpoint when it is the only candidate left", () => {
    const lb = createBalancer();
    setEndpoints(lb, endpoints([100, 100]), 0);
    for (let i = 0; i < 5; i++)
      recordOutcome(lb, { addr: addr(0), ok: false, latencyMs: 1, now: 0 });
    expect(
      pick(lb, { mode: HASH, key: "k", exclude: new Set([addr(1)]), now: 1, rand: Math.random }),
    ).toBe(addr(0));
  });

  it("without a key, picks as weighted mode", () => {
    const lb = createBalancer();
    setEndpoints(lb, endpoints([100, 300]), 0);
    const rand = mulberry32(22);
    let first = 0;
    for (let i = 0; i < 20_000; i++) {
      if (pick(lb, { mode: HASH, now: 0, rand }) === addr(0)) first++;
    }
    expect(chiSquare([first, 20_000 - first], [100, 300])).toBeLessThan(10.83);
  });
});
