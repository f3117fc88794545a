import type { Role } from "../../core/roles.js";
import { recordSystemAudit } from "../audit/repo.js";
import type { Store } from "../store/index.js";
import { findUser, firstAdmin, getUser } from "../users/repo.js";
import { createToken, deleteTokenByName } from "./repo.js";

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
      (await firstAdmin(tx)) ??
      (await getUser(tx, opts.username));
    await deleteTokenByName(tx, user.id, opts.name);
    const { row, secret } = await createToken(
      tx,
      { userId: user.id, name: opts.name, role: opts.role, expiresAt: null },
      now,
    );
    await recordSystemAudit(
      tx,
      {
        action: "token.create",
        target: `token:${row.id}`,
        details: {
          name: opts.name,
          role: opts.role,
          owner: user.username,
          reason: "local process",
        },
      },
      now,
    );
    return secret;
  });
}
