import { describe, expect, it } from "vitest";
import { createLeaseKeeper, heldUntil, type LeaseBackend } from "./keeper.js";

/** The store's compare-and-set rule, in memory. */
function memoryLeases(): LeaseBackend & {
  row: { holder: string; expiresAt: number } | null;
  failing: boolean;
} {
  const b = {
    row: null as { holder: string; expiresAt: number } | null,
    failing: false,
    async acquire(_name: string, holder: string, now: number, ttlMs: number) {
      if (b.failing) throw new Error("store unreachable");
      if (b.row === null || b.row.holder === holder || b.row.expiresAt <= now) {
        b.row = { holder, expiresAt: now + ttlMs };
        return true;
      }
      return false;
    },
    async release(_name: string, holder: string) {
      if (b.row?.holder === holder) b.row = null;
    },
  };
  return b;
}

describe("lease keeper", () => {
  it("counts the lease as held until a margin before it runs out, from when it asked", () => {
    expect(heldUntil(1000, 30_000, 10_000)).toBe(21_000);
  });

  it("lets one holder work at a time, and the other take over only after expiry", async () => {
    let t = 0;
    const now = () => t;
    const backend = memoryLeases();
    const a = createLeaseKeeper(backend, {
      name: "x",
      holder: "a",
      now,
      ttlMs: 30_000,
      marginMs: 10_000,
    });
    const b = createLeaseKeeper(backend, {
      name: "x",
      holder: "b",
      now,
      ttlMs: 30_000,
      marginMs: 10_000,
    });
    expect(await a.renew()).toBe(true);
    expect(await b.renew()).toBe(false);
    expect([a.holds(), b.holds()]).toEqual([true, false]);

    // a stops renewing (hung): it stops counting the lease as its own at 20 s ...
    t = 20_000;
    expect(a.holds()).toBe(false);
    // ... while b cannot get it before the grant expires at 30 s.
    t = 29_999;
    expect(await b.renew()).toBe(false);
    t = 30_000;
    expect(await b.renew()).toBe(true);
    expect(b.holds()).toBe(true);
    // a comes back: refused, and knows it.
    expect(await a.renew()).toBe(false);
    expect(a.holds()).toBe(false);
  });

  it("keeps the time it has when the store cannot be reached, and no more", async () => {
    let t = 0;
    const backend = memoryLeases();
    const changes: boolean[] = [];
    const errors: unknown[] = [];
    const k = createLeaseKeeper(backend, {
      name: "x",
      holder: "a",
      now: () => t,
      ttlMs: 30_000,
      marginMs: 10_000,
      onChange: (h) => changes.push(h),
      onError: (e) => errors.push(e),
    });
    await k.renew();
    backend.failing = true;
    t = 10_000;
    expect(await k.renew()).toBe(true);
    t = 20_000;
    expect(await k.renew()).toBe(false);
    expect(changes).toEqual([true, false]);
    expect(errors).toHaveLength(2);
  });

  it("releases on stop so another holder can start at once", async () => {
    const backend = memoryLeases();
    const now = () => 0;
    const a = createLeaseKeeper(backend, { name: "x", holder: "a", now, renewMs: 60_000 });
    const b = createLeaseKeeper(backend, { name: "x", holder: "b", now });
    await a.start();
    expect(a.holds()).toBe(true);
    await a.stop();
    expect(a.holds()).toBe(false);
    expect(backend.row).toBeNull();
    expect(await b.renew()).toBe(true);
    // A stopped keeper does not take the lease back.
    expect(await a.renew()).toBe(false);
  });

  it("runs one attempt at a time", async () => {
    let calls = 0;
    const backend: LeaseBackend = {
      acquire: async () => {
        calls++;
        await new Promise((r) => setTimeout(r, 20));
        return true;
      },
      release: async () => undefined,
    };
    const k = createLeaseKeeper(backend, { name: "x", holder: "a", now: () => 0 });
    expect(await Promise.all([k.renew(), k.renew(), k.renew()])).toEqual([true, true, true]);
    expect(calls).toBe(1);
  });
});
