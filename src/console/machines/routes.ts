import type { FastifyInstance } from "fastify";
import type { ConsoleContext } from "../context.js";

/** Machines: join tokens, enrollment, listing, labels, and the agent's desired/actual state. */
export function machineRoutes(_app: FastifyInstance, _ctx: ConsoleContext): void {}
