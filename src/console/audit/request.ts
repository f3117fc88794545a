import type { FastifyRequest } from "fastify";
import type { Db } from "../store/schema.js";
import { type AuditOutcome, recordAudit } from "./repo.js";

/** Record a change made by this request's caller, in the change's transaction. */
export function auditRequest(
  req: FastifyRequest,
  db: Db,
  now: number,
  event: {
    action: string;
    target: string;
    details?: Record<string, unknown>;
    outcome?: AuditOutcome;
    /** Who acted, when the request carries no principal yet (a login). */
    actor?: string;
  },
): Promise<void> {
  return recordAudit(
    db,
    {
      actor:
        event.actor ??
        req.principal?.username ??
        (req.machine ? `machine:${req.machine.machineName}` : "anonymous"),
      sourceIp: req.ip,
      outcome: event.outcome ?? "ok",
      action: event.action,
      target: event.target,
      ...(event.details ? { details: event.details } : {}),
    },
    now,
  );
}
