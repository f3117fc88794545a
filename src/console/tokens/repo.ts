import { MsecError } from "../../core/errors.js";
import type { Role } from "../../core/roles.js";
import type { ApiToken } from "../../core/schemas/auth.js";
import { randomToken, sha256 } from "../auth/secrets.js";
import type { ApiTokenRow, Db } from "../store/schema.js";

/** API tokens start with this, so logs and secret scanners can spot a leaked one. */
export const TOKEN_PREFIX = "msec_";

type TokenWithUser = ApiTokenRow & { username: string };

export async function createToken(
  db: Db,
  opts: { userId: number; name: string; role: Role; expiresAt: number | null },
  now: number,
): Promise<{ row: ApiTokenRow; secret: string }> {
  const clash = await db
    .selectFrom("api_tokens")
    .select("id")
    .where("user_id", "=", opts.userId)
    .where("name", "=", opts.name)
    .executeTakeFirst();
  if (clash) {
    throw new MsecError("already_exists", `you already have a token named "${opts.name}"`, {
      field: "body.name",
    });
  }
  const secret = randomToken(TOKEN_PREFIX);
  const row = await db
    .insertInto("api_tokens")
    .values({
      user_id: opts.userId,
      name: opts.name,
      token_hash: sha256(secret),
      role: opts.role,
      created_at: now,
      expires_at: opts.expiresAt,
      last_used_at: null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return { row, secret };
}

export async function findTokenBySecret(db: Db, secret: string, now: number) {
  return db
    .selectFrom("api_tokens")
    .innerJoin("users", "users.id", "api_tokens.user_id")
    .select([
      "api_tokens.id",
      "api_tokens.role as token_role",
      "api_tokens.last_used_at",
      "api_tokens.expires_at",
      "users.id as user_id",
      "users.username",
      "users.role as user_role",
      "users.must_change_password",
    ])
    .where("api_tokens.token_hash", "=", sha256(secret))
    .where((eb) =>
      eb.or([eb("api_tokens.expires_at", "is", null), eb("api_tokens.expires_at", ">", now)]),
    )
    .executeTakeFirst();
}

export async function touchToken(db: Db, id: number, now: number): Promise<void> {
  await db.updateTable("api_tokens").set({ last_used_at: now }).where("id", "=", id).execute();
}

export async function listTokens(db: Db, userId: number | "all"): Promise<TokenWithUser[]> {
  let q = db
    .selectFrom("api_tokens")
    .innerJoin("users", "users.id", "api_tokens.user_id")
    .selectAll("api_tokens")
    .select("users.username");
  if (userId !== "all") q = q.where("api_tokens.user_id", "=", userId);
  return q.orderBy("api_tokens.id").execute();
}

export async function getToken(db: Db, id: number): Promise<TokenWithUser> {
  const row = await db
    .selectFrom("api_tokens")
    .innerJoin("users", "users.id", "api_tokens.user_id")
    .selectAll("api_tokens")
    .select("users.username")
    .where("api_tokens.id", "=", id)
    .executeTakeFirst();
  if (!row) throw new MsecError("not_found", `no API token with id ${id}`);
  return row;
}

/** Revoke every token of a user (after an admin reset their password). */
export async function deleteUserTokens(db: Db, userId: number): Promise<void> {
  await db.deleteFrom("api_tokens").where("user_id", "=", userId).execute();
}

export async function deleteTokenByName(db: Db, userId: number, name: string): Promise<void> {
  await db
    .deleteFrom("api_tokens")
    .where("user_id", "=", userId)
    .where("name", "=", name)
    .execute();
}

export async function deleteToken(db: Db, id: number): Promise<void> {
  await db.deleteFrom("api_tokens").where("id", "=", id).execute();
}

export function toTokenView(row: TokenWithUser): ApiToken {
  const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
  return {
    id: row.id,
    name: row.name,
    username: row.username,
    role: row.role as Role,
    createdAt: new Date(row.created_at).toISOString(),
    expiresAt: iso(row.expires_at),
    lastUsedAt: iso(row.last_used_at),
  };
}
