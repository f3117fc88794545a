import { describe, expect, it } from "vitest";
import { readMinutes, writePoints } from "../../src/console/monitor/points.js";
import type { Store } from "../../src/console/store/index.js";
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
});
