import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { MsecError } from "../../core/errors.js";
import { roleAtLeast } from "../../core/roles.js";
import {
  CreateUserRequest,
  SetPasswordRequest,
  UpdateUserRequest,
  Username,
} from "../../core/schemas/auth.js";
import { auditRequest } from "../audit/request.js";
import { hashPassword, verifyPassword } from "../auth/secrets.js";
import { deleteUserSessions } from "../auth/sessions.js";
import type { ConsoleContext } from "../context.js";
import { principalOf } from "../http/access.js";
import { parseInput } from "../http/validate.js";
import { deleteUserTokens } from "../tokens/repo.js";
import {
  assertAnotherAdmin,
  deleteUser,
  getUser,
  insertUser,
  listUsers,
  setUserPassword,
  setUserRole,
  toUserView,
} from "./repo.js";

const UserParams = z.object({ username: Username });

export function userRoutes(app: FastifyInstance, ctx: ConsoleContext): void {
  app.get("/users", { config: { access: "admin" } }, async () => {
    return { users: (await listUsers(ctx.store.db)).map(toUserView) };
  });

  app.get("/users/:username", { config: { access: "viewer" } }, async (req) => {
    const { username } = parseInput(UserParams, req.params, "params");
    const who = principalOf(req);
    if (who.username !== username && !roleAtLeast(who.role, "admin")) {
      throw new MsecError("permission_denied", "only an admin can look at other users");
    }
    return toUserView(await getUser(ctx.store.db, username));
  });

  app.post("/users", { config: { access: "admin" } }, async (req, reply) => {
    const body = parseInput(CreateUserRequest, req.body, "body");
    const passwordHash = await hashPassword(body.password);
    const now = ctx.now();
    const row = await ctx.store.transaction(async (tx) => {
      const user = await insertUser(
        tx,
        {
          username: body.username,
          passwordHash,
          role: body.role,
          mustChangePassword: body.mustChangePassword,
        },
        now,
      );
      await auditRequest(req, tx, now, {
        action: "user.create",
        target: `user:${body.username}`,
        details: { role: body.role },
      });
      return user;
    });
    return reply.status(201).send(toUserView(row));
  });

  app.patch("/users/:username", { config: { access: "admin" } }, async (req) => {
    const { username } = parseInput(UserParams, req.params, "params");
    const body = parseInput(UpdateUserRequest, req.body, "body");
    const now = ctx.now();
    return ctx.store.transaction(async (tx) => {
      const user = await getUser(tx, username);
      if (user.role === "admin" && body.role !== "admin") {
        await assertAnotherAdmin(tx, user.id, `make ${username} ${body.role}`);
      }
      await setUserRole(tx, user.id, body.role, now);
      // A demoted user must not keep powers through an open session.
      if (!roleAtLeast(body.role, user.role as typeof body.role))
        await deleteUserSessions(tx, user.id);
      await auditRequest(req, tx, now, {
        action: "user.update",
        target: `user:${username}`,
        details: { role: { from: user.role, to: body.role } },
      });
      return toUserView({ ...user, role: body.role, updated_at: now });
    });
  });

  app.put("/users/:username/password", { config: { access: "viewer" } }, async (req, reply) => {
    const { username } = parseInput(UserParams, req.params, "params");
    const body = parseInput(SetPasswordRequest, req.body, "body");
    const who = principalOf(req);
    const self = who.username === username;
    if (!self && !roleAtLeast(who.role, "admin")) {
      throw new MsecError("permission_denied", "only an admin can set another user's password");
    }
    const user = await getUser(ctx.store.db, username);
    if (self) {
      const ok =
        body.currentPassword !== undefined &&
        (await verifyPassword(body.currentPassword, user.password_hash));
      if (!ok) {
        throw new MsecError("invalid_argument", "body.currentPassword: is missing or wrong", {
          field: "body.currentPassword",
        });
      }
    }
    const passwordHash = await hashPassword(body.password);
    const now = ctx.now();
    await ctx.store.transaction(async (tx) => {
      // An admin's reset makes the user pick their own at next login.
      await setUserPassword(tx, user.id, passwordHash, !self, now);
      await deleteUserSessions(
        tx,
        user.id,
        self && who.via === "session" ? who.sessionIdHash : undefined,
      );
      // A reset by an admin (say, after a compromise) also revokes the user's tokens.
      if (!self) await deleteUserTokens(tx, user.id);
      await auditRequest(req, tx, now, { action: "user.password", target: `user:${username}` });
    });
    return reply.status(204).send();
  });

  app.delete("/users/:username", { config: { access: "admin" } }, async (req, reply) => {
    const { username } = parseInput(UserParams, req.params, "params");
    const now = ctx.now();
    await ctx.store.transaction(async (tx) => {
      const user = await getUser(tx, username);
      if (user.role === "admin") await assertAnotherAdmin(tx, user.id, `remove ${username}`);
      await deleteUser(tx, user.id);
      await auditRequest(req, tx, now, { action: "user.delete", target: `user:${username}` });
    });
    return reply.status(204).send();
  });
}
