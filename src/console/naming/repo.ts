import { sql } from "kysely";
import type { InstanceHealth, Labels } from "../../core/schemas/naming.js";
import type { Db, NamingInstanceRow } from "../store/schema.js";
import type { InstanceState } from "./registry.js";

/** A service as stored: what the registry needs to rebuild it. */
export interface StoredService {
  name: string;
  description: string;
  createdAt: number;
  evictions: number[];
}

const REVISION_KEY = "naming.revision";
/** Rows per statement in batched writes: well under both engines' parameter limits. */
const BATCH_ROWS = 500;

export async function loadServices(db: Db): Promise<StoredService[]> {
  const rows = await db.selectFrom("naming_services").selectAll().orderBy("name").execute();
  return rows.map((r) => ({
    name: r.name,
    description: r.description,
    createdAt: r.created_at,
    evictions: parseEvictions(r.recent_evictions),
  }));
}

export async function loadInstances(db: Db): Promise<InstanceState[]> {
  const rows = await db
    .selectFrom("naming_instances")
    .selectAll()
    .orderBy("service")
    .orderBy("addr")
    .execute();
  return rows.map(toInstanceState);
}

export async function insertService(db: Db, s: StoredService): Promise<void> {
  await db
    .insertInto("naming_services")
    .values({
      name: s.name,
      description: s.description,
      created_at: s.createdAt,
      recent_evictions: JSON.stringify(s.evictions),
    })
    .onConflict((oc) => oc.column("name").doNothing())
    .execute();
}

/** Delete a service; its instances go with it (foreign key cascade). */
export async function deleteService(db: Db, name: string): Promise<void> {
  await db.deleteFrom("naming_instances").where("service", "=", name).execute();
  await db.deleteFrom("naming_services").where("name", "=", name).execute();
}

export async function setRecentEvictions(db: Db, name: string, times: number[]): Promise<void> {
  await db
    .updateTable("naming_services")
    .set({ recent_evictions: JSON.stringify(times) })
    .where("name", "=", name)
    .execute();
}

/** Insert an instance or replace every field of the stored one. */
export async function upsertInstance(db: Db, inst: InstanceState): Promise<void> {
  const row = toRow(inst);
  await db
    .insertInto("naming_instances")
    .values(row)
    .onConflict((oc) =>
      oc.columns(["service", "addr"]).doUpdateSet({
        weight: row.weight,
        weight_override: row.weight_override,
        labels: row.labels,
        health: row.health,
        disabled: row.disabled,
        ttl_ms: row.ttl_ms,
        registered_at: row.registered_at,
        last_seen: row.last_seen,
      }),
    )
    .execute();
}

export async function deleteInstances(
  db: Db,
  service: string,
  addrs: readonly string[],
): Promise<void> {
  for (let i = 0; i < addrs.length; i += BATCH_ROWS) {
    await db
      .deleteFrom("naming_instances")
      .where("service", "=", service)
      .where("addr", "in", addrs.slice(i, i + BATCH_ROWS))
      .execute();
  }
}

export interface SeenRow {
  service: string;
  addr: string;
  lastSeen: number;
  health: InstanceHealth;
}

/**
 * Write heartbeat state (lastSeen, health) of many instances with a few statements:
 * `UPDATE … FROM (VALUES …)`, which both engines run. Rows deleted meanwhile stay deleted.
 */
export async function updateSeen(db: Db, rows: readonly SeenRow[]): Promise<void> {
  for (let i = 0; i < rows.length; i += BATCH_ROWS) {
    const values = sql.join(
      rows
        .slice(i, i + BATCH_ROWS)
        .map((r) => sql`(${r.service}, ${r.addr}, ${r.lastSeen}, ${r.health})`),
    );
    await sql`update naming_instances
      set last_seen = cast(v.column3 as bigint), health = v.column4
      from (values ${values}) as v
      where naming_instances.service = v.column1 and naming_instances.addr = v.column2`.execute(db);
  }
}

/** The last revision handed out, so that revisions never repeat across restarts. */
export async function readRevision(db: Db): Promise<number> {
  const row = await db
    .selectFrom("settings")
    .select("value")
    .where("key", "=", REVISION_KEY)
    .executeTakeFirst();
  const n = Number(row?.value ?? 0);
  return Number.isSafeInteger(n) ? n : 0;
}

export async function writeRevision(db: Db, revision: number, now: number): Promise<void> {
  await db
    .insertInto("settings")
    .values({ key: REVISION_KEY, value: String(revision), updated_at: now })
    .onConflict((oc) => oc.column("key").doUpdateSet({ value: String(revision), updated_at: now }))
    .execute();
}

function toRow(inst: InstanceState): NamingInstanceRow {
  return {
    service: inst.service,
    addr: inst.addr,
    weight: inst.weight,
    weight_override: inst.weightOverride,
    labels: JSON.stringify(inst.labels),
    health: inst.health,
    disabled: inst.disabled ? 1 : 0,
    ttl_ms: inst.ttlMs,
    registered_at: inst.registeredAt,
    last_seen: inst.lastSeen,
  };
}

function toInstanceState(r: NamingInstanceRow): InstanceState {
  return {
    service: r.service,
    addr: r.addr,
    weight: Number(r.weight),
    weightOverride: r.weight_override === null ? null : Number(r.weight_override),
    labels: JSON.parse(r.labels) as Labels,
    health: r.health as InstanceHealth,
    disabled: Number(r.disabled) === 1,
    ttlMs: Number(r.ttl_ms),
    registeredAt: Number(r.registered_at),
    lastSeen: Number(r.last_seen),
    protected: false,
  };
}

function parseEvictions(text: string): number[] {
  try {
    const v: unknown = JSON.parse(text);
    return Array.isArray(v) ? v.filter((t): t is number => typeof t === "number") : [];
  } catch {
    return [];
  }
}
