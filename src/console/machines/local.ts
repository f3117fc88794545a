import { recordSystemAudit } from "../audit/repo.js";
import type { Store } from "../store/index.js";
import { createJoinToken } from "./repo.js";

/** A join token for an agent this console's owner starts next to it (`msec up`); audited. */
export async function mintLocalJoinToken(store: Store, now: number): Promise<string> {
  return store.transaction(async (tx) => {
    const { row, secret } = await createJoinToken(
      tx,
      { createdBy: "system", labels: {}, ttlSeconds: 600, note: "local agent of msec up" },
      now,
    );
    await recordSystemAudit(
      tx,
      {
        action: "machine.token.create",
        target: `join-token:${row.id}`,
        details: { reason: "local agent" },
      },
      now,
    );
    return secret;
  });
}
