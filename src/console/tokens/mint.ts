import type { Role } from "../../core/roles.js";
import { recordAudit } from "../audit/repo.js";
import type { Store } from "../store/index.js";
import { findUser, getUser } from "../users/repo.js";
import { createToken } from "./repo.js";

/** A token for a process started next to the console (no HTTP, no password): replaces its namesake. */
export async function mintLocalToken(
  store: Store,
  opts: { username: string; name: string; role: Role },
  now: number,
): Promise<string> {
  return store.transaction(async (tx) => {
    // The named user, or (if it was removed) any admin.
    const user =
      (await findUser(tx, opts.username)) ??
      (await tx
        .selectFrom("users")
        .selectAll()
        .where("role", "=", "admin")
        .orderBy("id")
        .executeTakeFirst()) ??
      (await getUser(tx, opts.username));
    await tx
      .deleteFrom("api_tokens")
      .where("user_id", "=", user.id)
      .where("name", "=", opts.name)
      .execute();
    const { row, secret } = await createToken(
      tx,
      { userId: user.id, name: opts.name, role: opts.role, expiresAt: null },
      now,
    );
    await recordAudit(
      tx,
      {
        actor: "system",
        action: "token.create",
        target: `token:${row.id}`,
        sourceIp: "local",
        outcome: "ok",
        details: {
          name: opts.name,
          role: opts.role,
          owner: opts.username,
          reason: "local process",
        },
      },
      now,
    );
    return secret;
  });
}
