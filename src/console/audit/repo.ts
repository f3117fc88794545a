import type { AuditEntry, AuditQuery } from "../../core/schemas/auth.js";
import type { AuditRow, Db } from "../store/schema.js";

export type AuditOutcome = AuditEntry["outcome"];

/** One change, as the audit log keeps it: who, when, what, from where, and how it ended. */
export interface AuditEvent {
  actor: string;
  action: string;
  target: string;
  sourceIp: string;
  outcome: AuditOutcome;
  details?: Record<string, unknown>;
}

/** Record an event; pass the transaction of the change so both commit or neither. */
export async function recordAudit(db: Db, event: AuditEvent, now: number): Promise<void> {
  await db
    .insertInto("audit_log")
    .values({
      at: now,
      actor: event.actor,
      action: event.action,
      target: event.target,
      source_ip: event.sourceIp,
      outcome: event.outcome,
      details: JSON.stringify(event.details ?? {}),
    })
    .execute();
}

/** A change the console made on its own (first start, recovery, `msec up`), from this host. */
export function recordSystemAudit(
  db: Db,
  event: { action: string; target: string; details?: Record<string, unknown> },
  now: number,
): Promise<void> {
  return recordAudit(db, { ...event, actor: "system", sourceIp: "local", outcome: "ok" }, now);
}

export async function queryAudit(db: Db, query: AuditQuery): Promise<AuditEntry[]> {
  let q = db.selectFrom("audit_log").selectAll();
  if (query.before !== undefined) q = q.where("id", "<", query.before);
  if (query.actor !== undefined) q = q.where("actor", "=", query.actor);
  if (query.action !== undefined) q = q.where("action", "=", query.action);
  const rows = await q.orderBy("id", "desc").limit(query.limit).execute();
  return rows.map(toAuditEntry);
}

function toAuditEntry(row: AuditRow): AuditEntry {
  return {
    id: row.id,
    at: new Date(row.at).toISOString(),
    actor: row.actor,
    action: row.action,
    target: row.target,
    sourceIp: row.source_ip,
    outcome: row.outcome as AuditOutcome,
    details: JSON.parse(row.details) as Record<string, unknown>,
  };
}
