import { sha256 } from "../auth/secrets.js";
import type { Db } from "../store/schema.js";

/**
 * The machine a credential belongs to, or undefined: the agent's own (`msecm_...`,
 * `scope` "agent") or the read-only one of its service processes (`msecs_...`).
 */
export async function findMachineByCredential(
  db: Db,
  secret: string,
  scope: "agent" | "services" = "agent",
): Promise<{ id: number; name: string } | undefined> {
  const row = await db
    .selectFrom("machines")
    .select(["id", "name"])
    .where(scope === "agent" ? "credential_hash" : "service_credential_hash", "=", sha256(secret))
    .executeTakeFirst();
  return row ? { id: Number(row.id), name: row.name } : undefined;
}
