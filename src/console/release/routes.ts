import type { FastifyInstance } from "fastify";
import type { ConsoleContext } from "../context.js";

/** Release plans: create, list, show, and the actions execute/pause/resume/abort/rollback. */
export function releaseRoutes(_app: FastifyInstance, _ctx: ConsoleContext): void {}
