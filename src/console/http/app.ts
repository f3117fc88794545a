import { fileURLToPath } from "node:url";
import cookie from "@fastify/cookie";
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from "fastify";
import { MsecError } from "../../core/errors.js";
import { alarmRoutes } from "../alarm/routes.js";
import { artifactRoutes } from "../artifacts/routes.js";
import { auditRoutes } from "../audit/routes.js";
import { authRoutes } from "../auth/routes.js";
import type { ConsoleContext } from "../context.js";
import { machineRoutes } from "../machines/routes.js";
import { monitorQueryRoutes } from "../monitor/query-routes.js";
import { monitorIngestRoutes } from "../monitor/routes.js";
import { namingRoutes } from "../naming/routes.js";
import { releaseRoutes } from "../release/routes.js";
import { systemRoutes } from "../system/routes.js";
import { tokenRoutes } from "../tokens/routes.js";
import { userRoutes } from "../users/routes.js";
import { installAccessControl } from "./access.js";
import { installErrorHandling } from "./errors.js";
import { installWebUi } from "./web.js";

export const API_PREFIX = "/api/v1";

export interface AppOptions {
  /** Trust X-Forwarded-* from a reverse proxy (for the client address and https). */
  trustProxy: boolean;
  bodyLimit?: number;
}

/** The console's HTTP face: every route of the API under /api/v1. */
export async function buildApp(ctx: ConsoleContext, opts: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    // pino's Logger is a FastifyBaseLogger; the cast only drops pino's extra typing.
    loggerInstance: ctx.log as FastifyBaseLogger,
    trustProxy: opts.trustProxy,
    bodyLimit: opts.bodyLimit ?? 1024 * 1024,
    // Ask idle keep-alive sockets to go at close; in-flight requests still finish.
    forceCloseConnections: "idle",
    // Requests that arrive while closing get our own 503 (below), in the one error shape.
    return503OnClosing: false,
  });
  installErrorHandling(app);
  let closing = false;
  app.addHook("preClose", async () => {
    closing = true;
  });
  app.addHook("onRequest", async () => {
    if (closing)
      throw new MsecError("unavailable", "the console is shutting down; retry on another replica");
  });
  await app.register(cookie);
  installAccessControl(app, ctx);
  await app.register(
    async (api) => {
      systemRoutes(api, ctx);
      authRoutes(api, ctx);
      userRoutes(api, ctx);
      tokenRoutes(api, ctx);
      auditRoutes(api, ctx);
      namingRoutes(api, ctx);
      monitorIngestRoutes(api, ctx);
      monitorQueryRoutes(api, ctx);
      alarmRoutes(api, ctx);
      artifactRoutes(api, ctx);
      machineRoutes(api, ctx);
      releaseRoutes(api, ctx);
    },
    { prefix: API_PREFIX },
  );
  await installWebUi(app, fileURLToPath(new URL("../../web", import.meta.url)));
  return app;
}
