import type { Db } from "../store/schema.js";
import { randomToken, sha256 } from "./secrets.js";

export const SESSION_COOKIE = "msec_session";
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;

export interface NewSession {
  /** The cookie value; only its hash is stored. */
  secret: string;
  csrfToken: string;
  expiresAt: number;
}

export async function createSession(
  db: Db,
  userId: number,
  sourceIp: string,
  now: number,
): Promise<NewSession> {
  const secret = randomToken("s_");
  const csrfToken = randomToken("", 24);
  const expiresAt = now + SESSION_TTL_MS;
  await db
    .insertInto("sessions")
    .values({
      id_hash: sha256(secret),
      user_id: userId,
      csrf_token: csrfToken,
      source_ip: sourceIp,
      created_at: now,
      expires_at: expiresAt,
    })
    .execute();
  return { secret, csrfToken, expiresAt };
}

export async function findSession(db: Db, secret: string, now: number) {
  return db
    .selectFrom("sessions")
    .innerJoin("users", "users.id", "sessions.user_id")
    .select([
      "sessions.id_hash",
      "sessions.csrf_token",
      "users.id as user_id",
      "users.username",
      "users.role",
      "users.must_change_password",
    ])
    .where("sessions.id_hash", "=", sha256(secret))
    .where("sessions.expires_at", ">", now)
    .executeTakeFirst();
}

export async function deleteSession(db: Db, secret: string): Promise<void> {
  await db.deleteFrom("sessions").where("id_hash", "=", sha256(secret)).execute();
}

/** Sign a user out everywhere (after a password change or a role change), but for one session. */
export async function deleteUserSessions(
  db: Db,
  userId: number,
  keepIdHash?: string,
): Promise<void> {
  let q = db.deleteFrom("sessions").where("user_id", "=", userId);
  if (keepIdHash) q = q.where("id_hash", "!=", keepIdHash);
  await q.execute();
}

export async function deleteExpiredSessions(db: Db, now: number): Promise<void> {
  await db.deleteFrom("sessions").where("expires_at", "<=", now).execute();
}
