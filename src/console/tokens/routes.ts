import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { MsecError } from "../../core/errors.js";
import { roleAtLeast } from "../../core/roles.js";
import { type CreatedToken, CreateTokenRequest, TokenListQuery } from "../../core/schemas/auth.js";
import { auditRequest } from "../audit/request.js";
import type { ConsoleContext } from "../context.js";
import { principalOf } from "../http/access.js";
import { parseInput } from "../http/validate.js";
import { createToken, deleteToken, getToken, listTokens, toTokenView } from "./repo.js";

const TokenParams = z.object({ id: z.coerce.number().int().positive() });
const DAY_MS = 24 * 60 * 60 * 1000;

export function tokenRoutes(app: FastifyInstance, ctx: ConsoleContext): void {
  app.get("/tokens", { config: { access: "viewer" } }, async (req) => {
    const who = principalOf(req);
    const { all } = parseInput(TokenListQuery, req.query, "query");
    if (all === "true" && !roleAtLeast(who.role, "admin")) {
      throw new MsecError("permission_denied", "only an admin can list everyone's tokens");
    }
    const rows = await listTokens(ctx.store.db, all === "true" ? "all" : who.userId);
    return { tokens: rows.map(toTokenView) };
  });

  app.post("/tokens", { config: { access: "viewer" } }, async (req, reply) => {
    const who = principalOf(req);
    const body = parseInput(CreateTokenRequest, req.body, "body");
    if (body.role && !roleAtLeast(who.role, body.role)) {
      throw new MsecError(
        "permission_denied",
        `cannot make a ${body.role} token: you act as ${who.role}`,
        {
          field: "body.role",
        },
      );
    }
    const role = body.role ?? who.role;
    const now = ctx.now();
    let expiresAt = body.expiresInDays ? now + body.expiresInDays * DAY_MS : null;
    // A token cannot mint one that outlives it.
    if (who.via === "token" && who.expiresAt !== null) {
      expiresAt = expiresAt === null ? who.expiresAt : Math.min(expiresAt, who.expiresAt);
    }
    const created = await ctx.store.transaction(async (tx) => {
      const { row, secret } = await createToken(
        tx,
        { userId: who.userId, name: body.name, role, expiresAt },
        now,
      );
      await auditRequest(req, tx, now, {
        action: "token.create",
        target: `token:${row.id}`,
        details: {
          name: body.name,
          role,
          expiresAt: expiresAt === null ? null : new Date(expiresAt).toISOString(),
        },
      });
      const view: CreatedToken = {
        ...toTokenView({ ...row, username: who.username }),
        token: secret,
      };
      return view;
    });
    return reply.status(201).send(created);
  });

  app.delete("/tokens/:id", { config: { access: "viewer" } }, async (req, reply) => {
    const who = principalOf(req);
    const { id } = parseInput(TokenParams, req.params, "params");
    const now = ctx.now();
    await ctx.store.transaction(async (tx) => {
      const token = await getToken(tx, id);
      if (token.user_id !== who.userId && !roleAtLeast(who.role, "admin")) {
        // Same answer as a missing token: do not confirm other users' token ids.
        throw new MsecError("not_found", `no API token with id ${id}`);
      }
      await deleteToken(tx, id);
      await auditRequest(req, tx, now, {
        action: "token.revoke",
        target: `token:${id}`,
        details: { name: token.name, owner: token.username },
      });
    });
    return reply.status(204).send();
  });
}
