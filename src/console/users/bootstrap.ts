import { isMsecError, MsecError } from "../../core/errors.js";
import { Password } from "../../core/schemas/auth.js";
import { recordSystemAudit } from "../audit/repo.js";
import { generatePassword, hashPassword } from "../auth/secrets.js";
import { deleteUserSessions } from "../auth/sessions.js";
import type { Db, Store } from "../store/index.js";
import { deleteUserTokens } from "../tokens/repo.js";
import { countUsers, findUser, insertUser, setUserPassword, setUserRole } from "./repo.js";

export type AdminBootstrap =
  | { kind: "existing" }
  | { kind: "created"; username: string; password: string; generated: boolean };

/**
 * On the first start (no users at all) create `admin`, with the given password or a
 * generated one. A generated password is returned once, to be shown once; only its
 * hash is stored, and the user is asked to change it.
 */
export async function ensureAdmin(
  store: Store,
  givenPassword: string | undefined,
  now: number,
): Promise<AdminBootstrap> {
  if ((await countUsers(store.db)) > 0) return { kind: "existing" };
  const secret = await adminSecret(givenPassword);
  try {
    await store.transaction(async (tx) => {
      await insertAdmin(tx, secret, now);
      await recordSystemAudit(
        tx,
        {
          action: "user.create",
          target: "user:admin",
          details: { role: "admin", reason: "first start" },
        },
        now,
      );
    });
  } catch (e) {
    // Another replica starting at the same moment created it first.
    if (isMsecError(e) && e.code === "already_exists") return { kind: "existing" };
    throw e;
  }
  return {
    kind: "created",
    username: "admin",
    password: secret.password,
    generated: secret.generated,
  };
}

/**
 * Recovery for a lost admin password, run on the console's machine with direct access
 * to the store (that access is the authority): sets a new password on `admin`
 * (recreating it as admin if it was removed or demoted) and signs it out everywhere.
 */
export async function recoverAdmin(
  store: Store,
  givenPassword: string | undefined,
  now: number,
): Promise<{ password: string; generated: boolean }> {
  const secret = await adminSecret(givenPassword);
  await store.transaction(async (tx) => {
    const existing = await findUser(tx, "admin");
    if (existing) {
      await setUserPassword(tx, existing.id, secret.passwordHash, secret.generated, now);
      await setUserRole(tx, existing.id, "admin", now);
      await deleteUserSessions(tx, existing.id);
      await deleteUserTokens(tx, existing.id);
    } else {
      await insertAdmin(tx, secret, now);
    }
    await recordSystemAudit(
      tx,
      {
        action: "user.recover-admin",
        target: "user:admin",
        details: { reason: "msec recover-admin" },
      },
      now,
    );
  });
  return { password: secret.password, generated: secret.generated };
}

interface AdminSecret {
  password: string;
  passwordHash: string;
  /** Made up here (shown once, to be changed) rather than given in MSEC_ADMIN_PASSWORD. */
  generated: boolean;
}

/** The given password (checked like any other) or a generated one, and its hash. */
async function adminSecret(given: string | undefined): Promise<AdminSecret> {
  checkGivenPassword(given);
  const password = given ?? generatePassword();
  return { password, passwordHash: await hashPassword(password), generated: given === undefined };
}

function insertAdmin(tx: Db, secret: AdminSecret, now: number) {
  return insertUser(
    tx,
    {
      username: "admin",
      passwordHash: secret.passwordHash,
      role: "admin",
      mustChangePassword: secret.generated,
    },
    now,
  );
}

function checkGivenPassword(password: string | undefined): void {
  if (password === undefined) return;
  const ok = Password.safeParse(password);
  if (!ok.success) {
    throw new MsecError("invalid_argument", `MSEC_ADMIN_PASSWORD ${ok.error.issues[0]?.message}`, {
      field: "MSEC_ADMIN_PASSWORD",
    });
  }
}
