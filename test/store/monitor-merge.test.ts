import { sql } from "kysely";
import { beforeEach, describe, expect, it } from "vitest";
import { readMinutes, writePoints } from "../../src/console/monitor/points.js";
import { querySeries } from "../../src/console/monitor/query.js";
import { mergedBefore, runMerge } from "../../src/console/monitor/recent.js";
import type { Store } from "../../src/console/store/index.js";
import { TEST_ENGINES, useFreshStore } from "../support/engines.js";

const MIN = 60_000;
const M = 28_000_000 * MIN;
const SVC = "Shop.Cart";
const INSTANCES = ["10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"];

async function counts(store: Store): Promise<{ points: number; recent: number; keys: number }> {
  const { rows } = await sql<{ points: number; recent: number; keys: number }>`select
      (select count(*) from metric_points) as points,
      (select count(*) from metric_recent) as recent,
      (select count(*) from (
        select service, attr, instance, minute from metric_points
        union
        select service, attr, instance, minute from metric_recent) k) as keys`.execute(store.db);
  const r = rows[0] as { points: number; recent: number; keys: number };
  return { points: Number(r.points), recent: Number(r.recent), keys: Number(r.keys) };
}

const all = async (store: Store, instance: string) =>
  (
    await readMinutes(store.db, {
      service: SVC,
      attr: "orders",
      instance,
      from: M,
      to: M + 60 * MIN,
    })
  ).map((p) => [(p.minute - M) / MIN, p.value]);

/** Ten minutes from three instances; instance i sends i + minute. */
async function writeTen(store: Store, add = 0): Promise<void> {
  for (const [i, instance] of INSTANCES.entries()) {
    await writePoints(
      store,
      SVC,
      instance,
      Array.from({ length: 10 }, (_, m) => ({
        minute: M + m * MIN,
        points: [{ attr: "orders", kind: "counter" as const, value: i + m + add }],
      })),
    );
  }
}

describe.each(TEST_ENGINES)("merge of metric_recent into metric_points [%s]", (engine) => {
  const fresh = useFreshStore(engine);
  beforeEach(async () => {
    const db = fresh.store.db;
    await db.deleteFrom("metric_points").execute();
    await db.deleteFrom("metric_recent").execute();
    await db.deleteFrom("metric_attrs").execute();
    await db.updateTable("metric_merge").set({ merged_before: MIN }).execute();
  });

  it("moves closed minutes exactly once, in bounded chunks, and reads stay the same", async () => {
    const store = fresh.store;
    await writeTen(store);
    const before = await all(store, "*");
    expect(before).toEqual(Array.from({ length: 10 }, (_, m) => [m, 3 + 3 * m]));
    expect(await counts(store)).toEqual({ points: 0, recent: 40, keys: 40 });
    // Six minutes are older than the merge age: 24 rows of 4 series; chunks of about 5
    // rows hold one series' six minutes each.
    const r = await runMerge(
      store.db,
      M + 6 * MIN + 30 * MIN,
      { afterMs: 30 * MIN },
      { rowsPerChunk: 5 },
    );
    expect(r).toMatchObject({ mergedBefore: M + 6 * MIN, moved: 24, chunks: 4, more: false });
    expect(await counts(store)).toEqual({ points: 24, recent: 16, keys: 40 });
    expect(await all(store, "*")).toEqual(before);
    expect(await all(store, "10.0.0.2:80")).toEqual(
      Array.from({ length: 10 }, (_, m) => [m, 1 + m]),
    );
    const s = await querySeries(store, {
      service: SVC,
      attr: "orders",
      instance: "*",
      from: M,
      to: M + 9 * MIN,
      compare: [],
      stat: "value",
    });
    expect(s.series[0]?.values).toEqual(before.map(([, v]) => v));
    // Again: nothing left below W; W never goes down.
    expect(await runMerge(store.db, M, { afterMs: 0 })).toMatchObject({
      mergedBefore: M + 6 * MIN,
      moved: 0,
    });
  });

  it("keeps totals exact when a late sender rewrites minutes already merged", async () => {
    const store = fresh.store;
    await writeTen(store);
    await runMerge(store.db, M + 6 * MIN + 30 * MIN, { afterMs: 30 * MIN });
    expect(await mergedBefore(store.db)).toBe(M + 6 * MIN);
    // Every instance resends all ten minutes, 100 more each: merged ones move back.
    await writeTen(store, 100);
    expect(await all(store, "*")).toEqual(Array.from({ length: 10 }, (_, m) => [m, 303 + 3 * m]));
    expect(await counts(store)).toEqual({ points: 0, recent: 40, keys: 40 });
    // A new instance in a merged minute: its total row is merged, and moves back too.
    await writePoints(store, SVC, "10.0.0.9:80", [
      { minute: M, points: [{ attr: "orders", kind: "counter", value: 1000 }] },
    ]);
    await runMerge(store.db, M + 6 * MIN + 30 * MIN, { afterMs: 30 * MIN });
    await writePoints(store, SVC, "10.0.0.8:80", [
      { minute: M + MIN, points: [{ attr: "orders", kind: "counter", value: 7 }] },
    ]);
    expect((await all(store, "*")).slice(0, 2)).toEqual([
      [0, 1303],
      [1, 313],
    ]);
    const c = await counts(store);
    expect(c.points + c.recent).toBe(c.keys);
  });

  it("two merges at once move each row once", async () => {
    const store = fresh.store;
    await writeTen(store);
    const before = await all(store, "*");
    const now = M + 10 * MIN + 30 * MIN;
    const [a, b] = await Promise.all([
      runMerge(store.db, now, { afterMs: 30 * MIN }, { rowsPerChunk: 7 }),
      runMerge(store.db, now, { afterMs: 30 * MIN }, { rowsPerChunk: 3 }),
    ]);
    expect((a?.moved ?? 0) + (b?.moved ?? 0)).toBe(40);
    expect(await counts(store)).toEqual({ points: 40, recent: 0, keys: 40 });
    expect(await all(store, "*")).toEqual(before);
  });
});
