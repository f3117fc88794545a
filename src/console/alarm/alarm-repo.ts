/** Alarms (one per firing episode) and their history, in the store. */
import { MsecError } from "../../core/errors.js";
import type {
  Alarm,
  AlarmEvent,
  AlarmEventType,
  AlarmNotice,
  AlarmQuery,
  NoticeEvent,
  RuleKind,
  Severity,
} from "../../core/schemas/alarm.js";
import type { AlarmRow, Db } from "../store/schema.js";

export async function findAlarm(db: Db, id: number): Promise<AlarmRow | undefined> {
  return db.selectFrom("alarms").selectAll().where("id", "=", id).executeTakeFirst();
}

export async function getAlarm(db: Db, id: number): Promise<AlarmRow> {
  const a = await findAlarm(db, id);
  if (!a) throw new MsecError("not_found", `no alarm #${id}`);
  return a;
}

export async function listAlarms(db: Db, q: AlarmQuery): Promise<AlarmRow[]> {
  let query = db.selectFrom("alarms").selectAll();
  if (q.state !== undefined) query = query.where("state", "=", q.state);
  if (q.service !== undefined) query = query.where("service", "=", q.service);
  if (q.ruleId !== undefined) query = query.where("rule_id", "=", q.ruleId);
  if (q.before !== undefined) query = query.where("id", "<", q.before);
  return query.orderBy("id", "desc").limit(q.limit).execute();
}

export async function recordAlarmEvents(
  db: Db,
  alarmId: number,
  at: number,
  events: readonly { type: AlarmEventType; details: Record<string, unknown> }[],
): Promise<void> {
  if (events.length === 0) return;
  await db
    .insertInto("alarm_events")
    .values(
      events.map((e) => ({
        alarm_id: alarmId,
        at,
        type: e.type,
        details: JSON.stringify(e.details),
      })),
    )
    .execute();
}

export async function listAlarmEvents(db: Db, alarmId: number): Promise<AlarmEvent[]> {
  const rows = await db
    .selectFrom("alarm_events")
    .selectAll()
    .where("alarm_id", "=", alarmId)
    .orderBy("id")
    .execute();
  return rows.map((r) => ({
    id: Number(r.id),
    alarmId: Number(r.alarm_id),
    at: new Date(Number(r.at)).toISOString(),
    type: r.type as AlarmEventType,
    details: JSON.parse(r.details) as Record<string, unknown>,
  }));
}

/**
 * Acknowledge a firing alarm: record who, stop its repeats. Bumps the rule state's
 * version, so an evaluation that read the state before the ack cannot send a repeat.
 */
export async function ackAlarm(
  db: Db,
  id: number,
  by: string,
  at: number,
  comment?: string,
): Promise<AlarmRow> {
  const alarm = await getAlarm(db, id);
  if (alarm.state !== "firing") {
    throw new MsecError(
      "failed_precondition",
      `alarm #${id} is ${alarm.state}: only a firing alarm can be acknowledged`,
    );
  }
  if (alarm.acked_by !== null) return alarm;
  await db
    .updateTable("alarms")
    .set({ acked_by: by, acked_at: at })
    .where("id", "=", id)
    .where("acked_by", "is", null)
    .execute();
  await db
    .updateTable("alarm_states")
    .set((eb) => ({ version: eb("version", "+", 1), updated_at: at }))
    .where("rule_id", "=", alarm.rule_id)
    .execute();
  await recordAlarmEvents(db, id, at, [
    { type: "acked", details: { by, ...(comment ? { comment } : {}) } },
  ]);
  return { ...alarm, acked_by: by, acked_at: at };
}

export function toAlarmView(a: AlarmRow): Alarm {
  return {
    id: Number(a.id),
    ruleId: Number(a.rule_id),
    service: a.service,
    attr: a.attr,
    instance: a.instance,
    kind: a.kind as RuleKind,
    severity: a.severity as Severity,
    state: a.state as Alarm["state"],
    value: a.value === null ? null : Number(a.value),
    message: a.message,
    firedAt: new Date(Number(a.fired_at)).toISOString(),
    resolvedAt: iso(num(a.resolved_at)),
    lastSentAt: iso(num(a.last_sent_at)),
    ackedBy: a.acked_by,
    ackedAt: iso(num(a.acked_at)),
  };
}

export function toNotice(a: AlarmRow, event: NoticeEvent): AlarmNotice {
  const v = toAlarmView(a);
  return {
    alarmId: v.id,
    ruleId: v.ruleId,
    event,
    service: v.service,
    attr: v.attr,
    instance: v.instance,
    kind: v.kind,
    severity: v.severity,
    value: v.value,
    message: v.message,
    firedAt: v.firedAt,
    resolvedAt: v.resolvedAt,
  };
}

function num(v: number | string | bigint | null): number | null {
  return v === null ? null : Number(v);
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}
