import { describe, expect, it } from "vitest";
import {
  type InstanceBatch,
  readMinutes,
  writeBatches,
  writePoints,
} from "../../src/console/monitor/points.js";
import type { Store } from "../../src/console/store/index.js";
import type { IngestPoint } from "../../src/core/schemas/monitor.js";
import { TEST_ENGINES, useFreshStore } from "../support/engines.js";

const M = 28_000_000 * 60_000;
const read = (store: Store, attr: string, instance: string) =>
  readMinutes(store.db, { service: "Shop.Cart", attr, instance, from: M, to: M + 10 * 60_000 });

// Each engine writes points its own way (triggers on SQLite, array statements on
// PostgreSQL): the results must be the same.
describe.each(TEST_ENGINES)("metric points [%s]", (engine) => {
  const fresh = useFreshStore(engine);

  it("keeps the service total as the sum of instances, through resends", async () => {
    await writePoints(fresh.store, "Shop.Cart", "10.0.0.1:80", [
      { minute: M, points: [{ attr: "orders", kind: "counter", value: 3 }] },
    ]);
    await writePoints(fresh.store, "Shop.Cart", "10.0.0.2:80", [
      { minute: M, points: [{ attr: "orders", kind: "counter", value: 4 }] },
      { minute: M + 60_000, points: [{ attr: "orders", kind: "counter", value: 1 }] },
    ]);
    // The first instance resends its (grown) minute: replaced, not added.
    await writePoints(fresh.store, "Shop.Cart", "10.0.0.1:80", [
      { minute: M, points: [{ attr: "orders", kind: "counter", value: 5 }] },
    ]);
    // The same minute twice in one batch: the last wins.
    await writePoints(fresh.store, "Shop.Cart", "10.0.0.2:80", [
      { minute: M + 60_000, points: [{ attr: "orders", kind: "counter", value: 2 }] },
      { minute: M + 60_000, points: [{ attr: "orders", kind: "counter", value: 6 }] },
    ]);
    expect((await read(fresh.store, "orders", "*")).map((p) => [p.minute - M, p.value])).toEqual([
      [0, 9],
      [60_000, 6],
    ]);
    expect((await read(fresh.store, "orders", "10.0.0.1:80")).map((p) => p.value)).toEqual([5]);
    // A first point of 0 still gives the minute a total (of 0), as charts expect.
    await writePoints(fresh.store, "Shop.Cart", "10.0.0.1:80", [
      { minute: M, points: [{ attr: "refunds", kind: "counter", value: 0 }] },
    ]);
    expect((await read(fresh.store, "refunds", "*")).map((p) => p.value)).toEqual([0]);
  });

  it("merges histogram buckets into the total, through resends", async () => {
    const h = (counts: number[], sum: number) => ({ bounds: [1, 10], counts, sum });
    await writePoints(fresh.store, "Shop.Cart", "10.0.0.1:80", [
      { minute: M, points: [{ attr: "lat", kind: "histogram", value: 2, hist: h([1, 1, 0], 6) }] },
    ]);
    await writePoints(fresh.store, "Shop.Cart", "10.0.0.2:80", [
      { minute: M, points: [{ attr: "lat", kind: "histogram", value: 1, hist: h([0, 0, 1], 50) }] },
    ]);
    await writePoints(fresh.store, "Shop.Cart", "10.0.0.1:80", [
      { minute: M, points: [{ attr: "lat", kind: "histogram", value: 3, hist: h([1, 1, 1], 30) }] },
    ]);
    const [total] = await read(fresh.store, "lat", "*");
    expect(total?.value).toBe(4);
    expect(total?.hist).toEqual(h([1, 1, 2], 80));
  });

  it("keeps every total the sum of its instances through random resends and batches", async () => {
    // A small deterministic generator (xorshift), so a failure replays.
    let seed = engine === "sqlite" ? 7 : 11;
    const rand = (n: number) => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) % n;
    };
    const pick = <T>(xs: readonly T[]): T => xs[rand(xs.length)] as T;
    const svc = "Random.Svc";
    const instances = ["10.0.1.1:80", "10.0.1.2:80", "10.0.1.3:80", "10.0.1.4:80"];
    const attrs = ["a", "b", "c", "gauge", "lat"];
    const minutes = [0, 1, 2, 3].map((i) => M + i * 60_000);
    const bounds = [1, 10];
    const point = (attr: string): IngestPoint => {
      const value = rand(25) - 5; // negatives and zeros too
      if (attr !== "lat") return { attr, kind: attr === "gauge" ? "gauge" : "counter", value };
      const counts = [rand(4), rand(4), rand(4)];
      return {
        attr,
        kind: "histogram",
        value: counts.reduce((a, b) => a + b, 0),
        hist: { bounds, counts, sum: rand(100) },
      };
    };
    // What each (attr, instance, minute) was last sent: the store must agree.
    const last = new Map<string, IngestPoint>();
    for (let round = 0; round < 60; round++) {
      const batches: InstanceBatch[] = [];
      for (const instance of instances) {
        if (rand(3) === 0) continue;
        const ms = [];
        for (let k = rand(3) + 1; k > 0; k--) {
          const minute = pick(minutes);
          const points = [];
          for (let j = rand(8); j > 0; j--) points.push(point(pick(attrs)));
          ms.push({ minute, points });
          for (const p of points) last.set(`${p.attr} ${instance} ${minute}`, p);
        }
        batches.push({ service: svc, instance, minutes: ms });
      }
      if (rand(4) === 0) {
        for (const b of batches) await writePoints(fresh.store, b.service, b.instance, b.minutes);
      } else await writeBatches(fresh.store, batches);
    }
    for (const attr of attrs) {
      const read = (instance: string) =>
        readMinutes(fresh.store.db, {
          service: svc,
          attr,
          instance,
          from: M,
          to: M + 10 * 60_000,
        });
      const totals = new Map((await read("*")).map((p) => [p.minute, p]));
      const sums = new Map<number, { value: number; counts: number[]; sum: number }>();
      for (const instance of instances) {
        for (const p of await read(instance)) {
          const sent = last.get(`${attr} ${instance} ${p.minute}`);
          expect(p.value).toBe(sent?.value);
          expect(p.hist).toEqual(sent?.hist ?? null);
          const s = sums.get(p.minute) ?? { value: 0, counts: [0, 0, 0], sum: 0 };
          s.value += p.value;
          if (p.hist) {
            const counts = p.hist.counts;
            s.counts = s.counts.map((c, i) => c + (counts[i] ?? 0));
            s.sum += p.hist.sum;
          }
          sums.set(p.minute, s);
        }
      }
      expect([...totals.keys()].sort()).toEqual([...sums.keys()].sort());
      for (const [minute, s] of sums) {
        const total = totals.get(minute);
        expect(total?.value, `${attr} total at minute ${minute}`).toBe(s.value);
        if (attr === "lat") expect(total?.hist).toEqual({ bounds, counts: s.counts, sum: s.sum });
      }
    }
  });
});
