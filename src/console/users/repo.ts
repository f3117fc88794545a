import { MsecError } from "../../core/errors.js";
import type { Role } from "../../core/roles.js";
import type { User } from "../../core/schemas/auth.js";
import type { Db, UserRow } from "../store/schema.js";

export async function findUser(db: Db, username: string): Promise<UserRow | undefined> {
  return db.selectFrom("users").selectAll().where("username", "=", username).executeTakeFirst();
}

export async function findUserById(db: Db, id: number): Promise<UserRow | undefined> {
  return db.selectFrom("users").selectAll().where("id", "=", id).executeTakeFirst();
}

/** The oldest admin, if any. */
export async function firstAdmin(db: Db): Promise<UserRow | undefined> {
  return db
    .selectFrom("users")
    .selectAll()
    .where("role", "=", "admin")
    .orderBy("id")
    .executeTakeFirst();
}

export async function getUser(db: Db, username: string): Promise<UserRow> {
  const user = await findUser(db, username);
  if (!user) throw new MsecError("not_found", `no user named "${username}"`);
  return user;
}

export async function listUsers(db: Db): Promise<UserRow[]> {
  return db.selectFrom("users").selectAll().orderBy("username").execute();
}

export async function countUsers(db: Db): Promise<number> {
  const row = await db
    .selectFrom("users")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function insertUser(
  db: Db,
  user: { username: string; passwordHash: string; role: Role; mustChangePassword: boolean },
  now: number,
): Promise<UserRow> {
  if (await findUser(db, user.username)) {
    throw new MsecError("already_exists", `a user named "${user.username}" already exists`, {
      field: "body.username",
    });
  }
  return db
    .insertInto("users")
    .values({
      username: user.username,
      password_hash: user.passwordHash,
      role: user.role,
      must_change_password: user.mustChangePassword ? 1 : 0,
      created_at: now,
      updated_at: now,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function setUserRole(db: Db, id: number, role: Role, now: number): Promise<void> {
  await db.updateTable("users").set({ role, updated_at: now }).where("id", "=", id).execute();
}

export async function setUserPassword(
  db: Db,
  id: number,
  passwordHash: string,
  mustChange: boolean,
  now: number,
): Promise<void> {
  await db
    .updateTable("users")
    .set({ password_hash: passwordHash, must_change_password: mustChange ? 1 : 0, updated_at: now })
    .where("id", "=", id)
    .execute();
}

export async function deleteUser(db: Db, id: number): Promise<void> {
  await db.deleteFrom("users").where("id", "=", id).execute();
}

/** Refuse a change that would leave the console with no admin. */
export async function assertAnotherAdmin(db: Db, exceptId: number, what: string): Promise<void> {
  const other = await db
    .selectFrom("users")
    .select("id")
    .where("role", "=", "admin")
    .where("id", "!=", exceptId)
    .executeTakeFirst();
  if (!other) {
    throw new MsecError("failed_precondition", `cannot ${what}: it is the last admin`);
  }
}

export function toUserView(row: UserRow): User {
  return {
    username: row.username,
    role: row.role as Role,
    mustChangePassword: row.must_change_password === 1,
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}
