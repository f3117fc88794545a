import type {} from "@fastify/cookie";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { MsecError } from "../../core/errors.js";
import { type Role, roleAtLeast, weakerRole } from "../../core/roles.js";
import {
  MACHINE_CREDENTIAL_PREFIX,
  SERVICE_CREDENTIAL_PREFIX,
} from "../../core/schemas/machine.js";
import { auditRequest } from "../audit/request.js";
import { sameSecret } from "../auth/secrets.js";
import { findSession, SESSION_COOKIE } from "../auth/sessions.js";
import type { ConsoleContext } from "../context.js";
import { findMachineByCredential } from "../machines/credential.js";
import { findTokenBySecret, TOKEN_PREFIX, touchToken } from "../tokens/repo.js";

/**
 * Who may call a route: anyone, an authenticated user holding at least this role, or
 * only an enrolled machine's agent ("machine").
 */
export type Access = "public" | Role | "machine";

/** An enrolled machine's agent, authenticated by its own credential. */
export interface MachinePrincipal {
  machineId: number;
  machineName: string;
  /** The agent itself, or a service process it runs (reads only). */
  scope: "agent" | "services";
}

/** The authenticated caller of a request. */
export type Principal =
  | {
      via: "session";
      userId: number;
      username: string;
      role: Role;
      mustChangePassword: boolean;
      sessionIdHash: string;
      csrfToken: string;
    }
  | {
      via: "token";
      userId: number;
      username: string;
      role: Role;
      mustChangePassword: boolean;
      tokenId: number;
      /** Epoch ms, or null for a token that does not expire. */
      expiresAt: number | null;
    };

declare module "fastify" {
  interface FastifyContextConfig {
    access?: Access;
    /** Agents may call this user route too (register instances, fetch artifacts, ship metrics). */
    machines?: boolean;
  }
  interface FastifyRequest {
    principal: Principal | null;
    /** Set instead of `principal` when an agent calls with its machine credential. */
    machine: MachinePrincipal | null;
  }
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
// Writing last_used_at on every call would turn reads into writes.
const TOKEN_TOUCH_INTERVAL_MS = 60_000;

/**
 * Authentication and authorization for every route under the API prefix. A route
 * must declare its access (`config: { access }`); one that forgets fails at start-up
 * rather than being open by accident.
 */
export function installAccessControl(app: FastifyInstance, ctx: ConsoleContext): void {
  app.decorateRequest("principal", null);
  app.decorateRequest("machine", null);

  app.addHook("onRoute", (route) => {
    if (route.url.startsWith("/api/") && route.config?.access === undefined) {
      throw new Error(`route ${route.method} ${route.url} declares no access`);
    }
  });

  app.addHook("preHandler", async (req) => {
    const access = req.routeOptions.config.access;
    if (access === undefined) return;
    const machineSecret = bearerSecret(req);
    const scope = machineSecret?.startsWith(MACHINE_CREDENTIAL_PREFIX)
      ? "agent"
      : machineSecret?.startsWith(SERVICE_CREDENTIAL_PREFIX)
        ? "services"
        : undefined;
    if (machineSecret && scope) {
      const forMachines = access !== "public" && req.routeOptions.config.machines === true;
      if (scope === "agent" && access !== "machine" && !forMachines) {
        throw new MsecError("permission_denied", "machine credentials may only call agent routes");
      }
      if (scope === "services" && !(forMachines && SAFE_METHODS.has(req.method))) {
        throw new MsecError(
          "permission_denied",
          "a service process's credential may only read (services, watches, artifacts)",
        );
      }
      const m = await findMachineByCredential(ctx.store.db, machineSecret, scope);
      if (!m)
        throw new MsecError(
          "unauthenticated",
          "unknown machine credential (was the machine removed?)",
        );
      req.machine = { machineId: m.id, machineName: m.name, scope };
      return;
    }
    if (access === "machine") {
      throw new MsecError(
        "unauthenticated",
        "this route is for agents: send the machine credential",
      );
    }
    if (access === "public") {
      // A public route works whatever credentials come along (a proxy's Basic auth, a
      // revoked token): they are used if good and ignored if not.
      req.principal = await authenticate(req, ctx).catch(() => null);
      return;
    }
    req.principal = await authenticate(req, ctx);
    const who = req.principal;
    if (!who) throw new MsecError("unauthenticated", "log in or send an API token");
    if (!roleAtLeast(who.role, access)) {
      if (!SAFE_METHODS.has(req.method)) await auditDenied(req, ctx, `needs ${access}`);
      throw new MsecError(
        "permission_denied",
        `this needs the ${access} role; ${who.username} is ${who.role}`,
      );
    }
    if (who.via === "session" && !SAFE_METHODS.has(req.method)) {
      const sent = req.headers["x-csrf-token"];
      if (typeof sent !== "string" || !sameSecret(sent, who.csrfToken)) {
        await auditDenied(req, ctx, "missing or wrong CSRF token");
        throw new MsecError(
          "permission_denied",
          "missing or wrong X-CSRF-Token header (browser sessions must send the token from login)",
        );
      }
    }
  });
}

function bearerSecret(req: FastifyRequest): string | undefined {
  const auth = req.headers.authorization;
  return auth === undefined ? undefined : /^Bearer (\S+)$/i.exec(auth)?.[1];
}

/** The agent calling a route whose access is "machine". */
export function machineOf(req: FastifyRequest): MachinePrincipal {
  if (!req.machine) throw new MsecError("unauthenticated", "send the machine credential");
  return req.machine;
}

async function authenticate(req: FastifyRequest, ctx: ConsoleContext): Promise<Principal | null> {
  const now = ctx.now();
  const auth = req.headers.authorization;
  if (auth !== undefined) {
    const secret = /^Bearer (\S+)$/i.exec(auth)?.[1];
    if (!secret?.startsWith(TOKEN_PREFIX)) {
      throw new MsecError("unauthenticated", "Authorization must be `Bearer msec_...`");
    }
    const t = await findTokenBySecret(ctx.store.db, secret, now);
    if (!t) throw new MsecError("unauthenticated", "unknown, revoked or expired API token");
    if (t.last_used_at === null || now - t.last_used_at > TOKEN_TOUCH_INTERVAL_MS) {
      await touchToken(ctx.store.db, t.id, now);
    }
    return {
      via: "token",
      userId: t.user_id,
      username: t.username,
      role: weakerRole(t.user_role as Role, t.token_role as Role),
      mustChangePassword: t.must_change_password === 1,
      tokenId: t.id,
      expiresAt: t.expires_at,
    };
  }
  const cookie = req.cookies[SESSION_COOKIE];
  if (!cookie) return null;
  const s = await findSession(ctx.store.db, cookie, now);
  if (!s) return null;
  return {
    via: "session",
    userId: s.user_id,
    username: s.username,
    role: s.role as Role,
    mustChangePassword: s.must_change_password === 1,
    sessionIdHash: s.id_hash,
    csrfToken: s.csrf_token,
  };
}

/** The caller of a route whose access is not public. */
export function principalOf(req: FastifyRequest): Principal {
  if (!req.principal) throw new MsecError("unauthenticated", "log in or send an API token");
  return req.principal;
}

/** A refused attempt to change something is a security event: keep it in the audit log. */
async function auditDenied(
  req: FastifyRequest,
  ctx: ConsoleContext,
  reason: string,
): Promise<void> {
  await auditRequest(req, ctx.store.db, ctx.now(), {
    action: `${req.method} ${req.routeOptions.url ?? req.url}`,
    target: req.url.split("?")[0] ?? req.url,
    outcome: "denied",
    details: { reason, role: req.principal?.role },
  });
}
