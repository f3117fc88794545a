import { sha256 } from "../auth/secrets.js";
import type { Db } from "../store/schema.js";

/** The machine a credential (`msecm_...`) belongs to, or undefined. */
export async function findMachineByCredential(
  db: Db,
  secret: string,
): Promise<{ id: number; name: string } | undefined> {
  const row = await db
    .selectFrom("machines")
    .select(["id", "name"])
    .where("credential_hash", "=", sha256(secret))
    .executeTakeFirst();
  return row ? { id: Number(row.id), name: row.name } : undefined;
}
