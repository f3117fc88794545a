/** Silences in the store. */
import { MsecError } from "../../core/errors.js";
import type { Silence } from "../../core/schemas/alarm.js";
import type { AlarmSilenceRow, Db } from "../store/schema.js";
import type { SilenceSpec } from "./silence.js";

export async function insertSilence(
  db: Db,
  s: {
    service?: string | undefined;
    attr?: string | undefined;
    ruleId?: number | undefined;
    until: number;
    reason: string;
    createdBy: string;
  },
  now: number,
): Promise<AlarmSilenceRow> {
  return db
    .insertInto("alarm_silences")
    .values({
      service: s.service ?? null,
      attr: s.attr ?? null,
      rule_id: s.ruleId ?? null,
      until: s.until,
      reason: s.reason,
      created_by: s.createdBy,
      created_at: now,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Silences, newest first; only those still in force at `activeAt` when given. */
export async function listSilences(db: Db, activeAt?: number): Promise<AlarmSilenceRow[]> {
  let q = db.selectFrom("alarm_silences").selectAll();
  if (activeAt !== undefined) q = q.where("until", ">", activeAt);
  return q.orderBy("id", "desc").limit(1000).execute();
}

export async function getSilence(db: Db, id: number): Promise<AlarmSilenceRow> {
  const row = await db
    .selectFrom("alarm_silences")
    .selectAll()
    .where("id", "=", id)
    .executeTakeFirst();
  if (!row) throw new MsecError("not_found", `no silence #${id}`);
  return row;
}

export async function deleteSilence(db: Db, id: number): Promise<void> {
  const r = await db.deleteFrom("alarm_silences").where("id", "=", id).executeTakeFirst();
  if (Number(r.numDeletedRows) === 0) throw new MsecError("not_found", `no silence #${id}`);
}

export function toSilenceSpec(row: AlarmSilenceRow): SilenceSpec {
  return {
    id: Number(row.id),
    service: row.service,
    attr: row.attr,
    ruleId: row.rule_id === null ? null : Number(row.rule_id),
    until: Number(row.until),
  };
}

export function toSilenceView(row: AlarmSilenceRow): Silence {
  return {
    id: Number(row.id),
    matcher: {
      ...(row.service !== null ? { service: row.service } : {}),
      ...(row.attr !== null ? { attr: row.attr } : {}),
      ...(row.rule_id !== null ? { ruleId: Number(row.rule_id) } : {}),
    },
    until: new Date(Number(row.until)).toISOString(),
    reason: row.reason,
    createdBy: row.created_by,
    createdAt: new Date(Number(row.created_at)).toISOString(),
  };
}
