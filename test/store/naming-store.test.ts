import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import type { InstanceState } from "../../src/console/naming/registry.js";
import {
  deleteInstances,
  deleteService,
  insertService,
  loadInstances,
  loadServices,
  readRevision,
  setRecentEvictions,
  updateSeen,
  upsertInstance,
  writeRevision,
} from "../../src/console/naming/repo.js";
import { openStore } from "../../src/console/store/index.js";
import { TEST_ENGINES, useFreshStore } from "../support/engines.js";

const now = 1_700_000_000_000;

function instance(service: string, addr: string, over: Partial<InstanceState> = {}): InstanceState {
  return {
    service,
    addr,
    weight: 100,
    weightOverride: null,
    labels: {},
    health: "healthy",
    disabled: false,
    ttlMs: 15_000,
    registeredAt: now,
    lastSeen: now,
    protected: false,
    ...over,
  };
}

// The name service's tables, on every engine.
describe.each(TEST_ENGINES)("naming store [%s]", (engine) => {
  const fresh = useFreshStore(engine);

  it("runs the naming migration", async () => {
    const applied = await sql<{ name: string }>`select name from kysely_migration`.execute(
      fresh.store.db,
    );
    expect(applied.rows.map((r) => r.name)).toContain("0002-naming");
  });

  it("persists services and instances and loads them back identically", async () => {
    await insertService(fresh.store.db, {
      name: "Demo.Echo",
      description: "echoes",
      createdAt: now,
      evictions: [],
    });
    await insertService(fresh.store.db, {
      name: "Login.Auth",
      description: "",
      createdAt: now + 5,
      evictions: [now - 10, now - 5],
    });
    const written = [
      instance("Demo.Echo", "10.0.0.1:8080", {
        weight: 250,
        weightOverride: 7,
        labels: { version: "1.4.2", zone: "sz", canary: "true" },
        health: "draining",
        disabled: true,
        ttlMs: 2000,
        registeredAt: now - 1000,
        lastSeen: now + 123,
      }),
      instance("Demo.Echo", "[::1]:8080"),
      instance("Login.Auth", "192.168.1.20:9000", { weight: 0, health: "unhealthy" }),
    ];
    for (const i of written) await upsertInstance(fresh.store.db, i);

    const again = await openStore(fresh.url);
    try {
      expect(await loadServices(again.db)).toEqual([
        { name: "Demo.Echo", description: "echoes", createdAt: now, evictions: [] },
        { name: "Login.Auth", description: "", createdAt: now + 5, evictions: [now - 10, now - 5] },
      ]);
      const loaded = await loadInstances(again.db);
      const key = (i: InstanceState) => `${i.service}/${i.addr}`;
      expect([...loaded].sort((a, b) => key(a).localeCompare(key(b)))).toEqual(
        [...written].sort((a, b) => key(a).localeCompare(key(b))),
      );
    } finally {
      await again.close();
    }
  });

  it("upserts an instance in place and keeps one row per (service, addr)", async () => {
    await upsertInstance(
      fresh.store.db,
      instance("Demo.Echo", "[::1]:8080", { weight: 5, lastSeen: now + 999 }),
    );
    const rows = (await loadInstances(fresh.store.db)).filter((i) => i.addr === "[::1]:8080");
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ weight: 5, lastSeen: now + 999 });
  });

  it("writes heartbeat state in batches, leaving deleted rows deleted", async () => {
    await insertService(fresh.store.db, {
      name: "Bulk.Beat",
      description: "",
      createdAt: now,
      evictions: [],
    });
    const many = Array.from({ length: 1234 }, (_, i) =>
      instance("Bulk.Beat", `10.1.${i >> 8}.${i & 255}:80`),
    );
    await fresh.store.transaction(async (tx) => {
      for (const i of many) await upsertInstance(tx, i);
    });
    await deleteInstances(fresh.store.db, "Bulk.Beat", [many[0]?.addr ?? ""]);
    await updateSeen(
      fresh.store.db,
      many.map((i, k) => ({
        service: i.service,
        addr: i.addr,
        lastSeen: now + 10_000 + k,
        health: k % 2 ? "healthy" : "draining",
      })),
    );
    const loaded = (await loadInstances(fresh.store.db)).filter((i) => i.service === "Bulk.Beat");
    expect(loaded).toHaveLength(1233);
    const byAddr = new Map(loaded.map((i) => [i.addr, i]));
    expect(byAddr.get(many[1]?.addr ?? "")).toMatchObject({
      lastSeen: now + 10_001,
      health: "healthy",
    });
    expect(byAddr.get(many[1000]?.addr ?? "")).toMatchObject({
      lastSeen: now + 11_000,
      health: "draining",
    });
  });

  it("records recent evictions and the revision counter", async () => {
    await setRecentEvictions(fresh.store.db, "Demo.Echo", [now + 1, now + 2]);
    expect(
      (await loadServices(fresh.store.db)).find((s) => s.name === "Demo.Echo")?.evictions,
    ).toEqual([now + 1, now + 2]);
    expect(await readRevision(fresh.store.db)).toBe(0);
    await writeRevision(fresh.store.db, now + 42, now);
    await writeRevision(fresh.store.db, now + 43, now);
    expect(await readRevision(fresh.store.db)).toBe(now + 43);
  });

  it("deletes a service with its instances", async () => {
    await deleteService(fresh.store.db, "Bulk.Beat");
    expect((await loadServices(fresh.store.db)).map((s) => s.name)).not.toContain("Bulk.Beat");
    expect((await loadInstances(fresh.store.db)).filter((i) => i.service === "Bulk.Beat")).toEqual(
      [],
    );
  });
});
