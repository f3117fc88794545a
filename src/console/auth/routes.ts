import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { MsecError } from "../../core/errors.js";
import type { Role } from "../../core/roles.js";
import { LoginRequest, type SessionInfo } from "../../core/schemas/auth.js";
import { auditRequest } from "../audit/request.js";
import type { ConsoleContext } from "../context.js";
import { principalOf } from "../http/access.js";
import { parseInput } from "../http/validate.js";
import { deleteToken } from "../tokens/repo.js";
import { findUser } from "../users/repo.js";
import { dummyHash, verifyPassword } from "./secrets.js";
import { createSession, deleteSession, SESSION_COOKIE, SESSION_TTL_MS } from "./sessions.js";
import { checkThrottle, clearFailures, LOGIN_POLICY, recordFailure } from "./throttle.js";

export function authRoutes(app: FastifyInstance, ctx: ConsoleContext): void {
  app.post("/auth/login", { config: { access: "public" } }, async (req, reply) => {
    const body = parseInput(LoginRequest, req.body, "body");
    const now = ctx.now();
    const userKey = `user:${body.username}`;
    const keys = [
      { key: userKey, policy: LOGIN_POLICY.user },
      { key: `ip:${req.ip}`, policy: LOGIN_POLICY.address },
    ];
    const verdict = checkThrottle(ctx.loginThrottle, keys, now);
    if (verdict.blocked) {
      const seconds = Math.ceil(verdict.retryAfterMs / 1000);
      await auditRequest(req, ctx.store.db, now, {
        action: "auth.login",
        target: `user:${body.username}`,
        outcome: "denied",
        details: { reason: "rate limited" },
      });
      throw new MsecError(
        "resource_exhausted",
        `too many failed logins; try again in ${seconds} s`,
        { headers: { "retry-after": String(seconds) } },
      );
    }

    const user = await findUser(ctx.store.db, body.username);
    const ok = await verifyPassword(body.password, user?.password_hash ?? (await dummyHash()));
    if (!user || !ok) {
      recordFailure(ctx.loginThrottle, keys, now);
      await auditRequest(req, ctx.store.db, now, {
        action: "auth.login",
        target: `user:${body.username}`,
        outcome: "failed",
      });
      throw new MsecError("unauthenticated", "wrong username or password");
    }
    clearFailures(ctx.loginThrottle, userKey);

    const session = await ctx.store.transaction(async (tx) => {
      const s = await createSession(tx, user.id, req.ip, now);
      await auditRequest(req, tx, now, {
        action: "auth.login",
        target: `user:${user.username}`,
        actor: user.username,
      });
      return s;
    });
    setSessionCookie(req, reply, session.secret);
    const info: SessionInfo = {
      username: user.username,
      role: user.role as Role,
      mustChangePassword: user.must_change_password === 1,
      via: "session",
      csrfToken: session.csrfToken,
    };
    return info;
  });

  app.get("/auth/session", { config: { access: "viewer" } }, async (req) => {
    const who = principalOf(req);
    const info: SessionInfo = {
      username: who.username,
      role: who.role,
      mustChangePassword: who.mustChangePassword,
      via: who.via,
      ...(who.via === "session" ? { csrfToken: who.csrfToken } : {}),
    };
    return info;
  });

  // Ends the caller's session; called with an API token, revokes that token.
  app.post("/auth/logout", { config: { access: "viewer" } }, async (req, reply) => {
    const who = principalOf(req);
    const now = ctx.now();
    await ctx.store.transaction(async (tx) => {
      if (who.via === "session") {
        await deleteSession(tx, req.cookies[SESSION_COOKIE] ?? "");
      } else {
        await deleteToken(tx, who.tokenId);
      }
      await auditRequest(req, tx, now, {
        action: "auth.logout",
        target: `user:${who.username}`,
        details: { via: who.via },
      });
    });
    reply.clearCookie(SESSION_COOKIE, {
      path: "/",
      httpOnly: true,
      sameSite: "strict",
      secure: req.protocol === "https",
    });
    return reply.status(204).send();
  });
}

function setSessionCookie(req: FastifyRequest, reply: FastifyReply, secret: string): void {
  reply.setCookie(SESSION_COOKIE, secret, {
    path: "/",
    httpOnly: true,
    sameSite: "strict",
    secure: req.protocol === "https",
    maxAge: SESSION_TTL_MS / 1000,
  });
}
