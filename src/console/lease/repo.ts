import type { Db } from "../store/schema.js";

/**
 * Take or renew a lease in one compare-and-set statement: it succeeds when nobody holds
 * the lease, when `holder` already holds it, or when the last holder's time ran out.
 * Same SQL on SQLite and PostgreSQL (`insert … on conflict do update … where`).
 */
export async function acquireLease(
  db: Db,
  name: string,
  holder: string,
  now: number,
  ttlMs: number,
): Promise<boolean> {
  const r = await db
    .insertInto("leases")
    .values({ name, holder, expires_at: now + ttlMs })
    .onConflict((oc) =>
      oc
        .column("name")
        .doUpdateSet((eb) => ({
          holder: eb.ref("excluded.holder"),
          expires_at: eb.ref("excluded.expires_at"),
        }))
        .where((eb) =>
          eb.or([eb("leases.holder", "=", holder), eb("leases.expires_at", "<=", now)]),
        ),
    )
    .executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
}

/** Give a lease up, if `holder` still holds it, so another replica can take it at once. */
export async function releaseLease(db: Db, name: string, holder: string): Promise<boolean> {
  const r = await db
    .deleteFrom("leases")
    .where("name", "=", name)
    .where("holder", "=", holder)
    .executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

export async function readLease(
  db: Db,
  name: string,
): Promise<{ holder: string; expiresAt: number } | undefined> {
  const row = await db.selectFrom("leases").selectAll().where("name", "=", name).executeTakeFirst();
  return row ? { holder: row.holder, expiresAt: Number(row.expires_at) } : undefined;
}
