/**
 * Alarm rules and their state (the lifecycle's state and the last evaluated minute), in
 * the store (same Kysely queries on both engines), and the evaluator's write of one
 * evaluated minute. Alarms and their history are in alarm-repo.ts. Times are epoch ms.
 */
import { MsecError } from "../../core/errors.js";
import type {
  AlarmEventType,
  AlarmRule,
  AlarmRuleSpec,
  RuleKind,
} from "../../core/schemas/alarm.js";
import type { Store } from "../store/index.js";
import type { AlarmRow, AlarmRuleRow, AlarmStateRow, Db } from "../store/schema.js";
import { findAlarm, recordAlarmEvents } from "./alarm-repo.js";
import type { AlarmState, StateName, Step } from "./lifecycle.js";
import type { Measurement } from "./rules.js";

export interface RuleRecord {
  id: number;
  spec: AlarmRuleSpec;
  createdAt: number;
  updatedAt: number;
}

export interface RuleStateRecord {
  ruleId: number;
  state: StateName;
  since: number | null;
  alarmId: number | null;
  evaluatedMinute: number | null;
  version: number;
}

// Rules.

function ruleColumns(spec: AlarmRuleSpec) {
  const { service, attr, instance, kind, enabled, ...rest } = spec;
  return { service, attr, instance, kind, enabled: enabled ? 1 : 0, spec: JSON.stringify(rest) };
}

function toRuleRecord(row: AlarmRuleRow): RuleRecord {
  const rest = JSON.parse(row.spec) as Record<string, unknown>;
  const spec = {
    ...rest,
    service: row.service,
    attr: row.attr,
    instance: row.instance,
    kind: row.kind as RuleKind,
    enabled: row.enabled === 1,
  } as AlarmRuleSpec;
  return {
    id: Number(row.id),
    spec,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

function toStateRecord(row: AlarmStateRow): RuleStateRecord {
  return {
    ruleId: Number(row.rule_id),
    state: row.state as StateName,
    since: num(row.since),
    alarmId: num(row.alarm_id),
    evaluatedMinute: num(row.evaluated_minute),
    version: Number(row.version),
  };
}

export async function insertRule(db: Db, spec: AlarmRuleSpec, now: number): Promise<RuleRecord> {
  const row = await db
    .insertInto("alarm_rules")
    .values({ ...ruleColumns(spec), created_at: now, updated_at: now })
    .returningAll()
    .executeTakeFirstOrThrow();
  await db
    .insertInto("alarm_states")
    .values({
      rule_id: row.id,
      state: "ok",
      since: null,
      alarm_id: null,
      evaluated_minute: null,
      updated_at: now,
    })
    .execute();
  return toRuleRecord(row);
}

export async function updateRule(
  db: Db,
  id: number,
  spec: AlarmRuleSpec,
  now: number,
): Promise<RuleRecord> {
  const row = await db
    .updateTable("alarm_rules")
    .set({ ...ruleColumns(spec), updated_at: now })
    .where("id", "=", id)
    .returningAll()
    .executeTakeFirst();
  if (!row) throw new MsecError("not_found", `no alarm rule #${id}`);
  // The evaluator compares versions: make its next write re-read the rule's state.
  await db
    .updateTable("alarm_states")
    .set((eb) => ({ version: eb("version", "+", 1), updated_at: now }))
    .where("rule_id", "=", id)
    .execute();
  return toRuleRecord(row);
}

export async function deleteRule(db: Db, id: number): Promise<void> {
  const r = await db.deleteFrom("alarm_rules").where("id", "=", id).executeTakeFirst();
  if (Number(r.numDeletedRows) === 0) throw new MsecError("not_found", `no alarm rule #${id}`);
}

export async function getRule(
  db: Db,
  id: number,
): Promise<{ rule: RuleRecord; state: RuleStateRecord }> {
  const [found] = await listRules(db, { id });
  if (!found) throw new MsecError("not_found", `no alarm rule #${id}`);
  return found;
}

export async function listRules(
  db: Db,
  q: { id?: number; service?: string | undefined; enabledOnly?: boolean } = {},
): Promise<{ rule: RuleRecord; state: RuleStateRecord }[]> {
  let query = db
    .selectFrom("alarm_rules as r")
    .innerJoin("alarm_states as s", "s.rule_id", "r.id")
    .selectAll("r")
    .select([
      "s.rule_id",
      "s.state",
      "s.since",
      "s.alarm_id",
      "s.evaluated_minute",
      "s.version",
      "s.updated_at as s_updated_at",
    ]);
  if (q.id !== undefined) query = query.where("r.id", "=", q.id);
  if (q.service !== undefined) query = query.where("r.service", "=", q.service);
  if (q.enabledOnly) query = query.where("r.enabled", "=", 1);
  const rows = await query.orderBy("r.id").execute();
  return rows.map((row) => ({
    rule: toRuleRecord(row),
    state: toStateRecord({ ...row, updated_at: row.s_updated_at }),
  }));
}

export async function loadRuleState(db: Db, ruleId: number): Promise<RuleStateRecord | undefined> {
  const row = await db
    .selectFrom("alarm_states")
    .selectAll()
    .where("rule_id", "=", ruleId)
    .executeTakeFirst();
  return row ? toStateRecord(row) : undefined;
}

export function toRuleView(rule: RuleRecord, state: RuleStateRecord): AlarmRule {
  return {
    ...rule.spec,
    id: rule.id,
    state: state.state,
    alarmId: state.alarmId,
    evaluatedMinute: iso(state.evaluatedMinute),
    createdAt: new Date(rule.createdAt).toISOString(),
    updatedAt: new Date(rule.updatedAt).toISOString(),
  } as AlarmRule;
}

// The lifecycle's state, as the step function sees it.

export async function loadAlarmState(
  db: Db,
  rec: RuleStateRecord,
): Promise<{ state: AlarmState; alarm: AlarmRow | undefined }> {
  const alarm = rec.alarmId !== null ? await findAlarm(db, rec.alarmId) : undefined;
  switch (rec.state) {
    case "pending":
      return { state: { state: "pending", activeAt: rec.since ?? 0 }, alarm };
    case "firing":
      if (!alarm) return { state: { state: "ok" }, alarm };
      return {
        state: {
          state: "firing",
          activeAt: rec.since ?? Number(alarm.fired_at),
          firedAt: Number(alarm.fired_at),
          lastSentAt: num(alarm.last_sent_at),
          ackedBy: alarm.acked_by,
          ackedAt: num(alarm.acked_at),
        },
        alarm,
      };
    case "resolved":
      if (!alarm) return { state: { state: "ok" }, alarm };
      return {
        state: {
          state: "resolved",
          firedAt: Number(alarm.fired_at),
          resolvedAt: num(alarm.resolved_at) ?? 0,
        },
        alarm,
      };
    default:
      return { state: { state: "ok" }, alarm };
  }
}

export interface StepWrite {
  rule: RuleRecord;
  prev: RuleStateRecord;
  /** The open alarm the previous state refers to, if any. */
  alarm: AlarmRow | undefined;
  minute: number;
  at: number;
  step: Step;
  measurement: Measurement;
  /** Ids of the silences that hold this rule's notices. */
  silencedBy: readonly number[];
}

class VersionConflict extends Error {}

/**
 * Store one evaluated minute of one rule: the state and the last evaluated minute, by
 * compare-and-set on the state's version (an ack, a rule edit or another evaluator in
 * between makes it fail and return null: re-read and step again), and the alarm and its
 * history. Returns the alarm the step touched (null when none).
 */
export async function applyStep(
  store: Store,
  w: StepWrite,
): Promise<{ alarm: AlarmRow | null } | null> {
  try {
    return await store.transaction(async (tx) => {
      const next = w.step.next;
      const claimed = await tx
        .updateTable("alarm_states")
        .set((eb) => ({
          state: next.state,
          since: next.state === "pending" || next.state === "firing" ? next.activeAt : null,
          evaluated_minute: w.minute,
          version: eb("version", "+", 1),
          updated_at: w.at,
        }))
        .where("rule_id", "=", w.rule.id)
        .where("version", "=", w.prev.version)
        .executeTakeFirst();
      if (Number(claimed.numUpdatedRows) === 0) throw new VersionConflict();

      const m = w.measurement;
      const seen = m.outcome === "nodata" ? {} : { value: m.value, message: m.message };
      const events: { type: AlarmEventType; details: Record<string, unknown> }[] = [];
      const minute = new Date(w.minute).toISOString();
      let alarm: AlarmRow | null = null;

      if (w.step.transition === "firing" && next.state === "firing") {
        const s = w.rule.spec;
        alarm = await tx
          .insertInto("alarms")
          .values({
            rule_id: w.rule.id,
            service: s.service,
            attr: s.attr,
            instance: s.instance,
            kind: s.kind,
            severity: s.severity,
            state: "firing",
            value: m.value,
            message: m.message,
            fired_at: next.firedAt,
            resolved_at: null,
            last_sent_at: next.lastSentAt,
            acked_by: null,
            acked_at: null,
          })
          .returningAll()
          .executeTakeFirstOrThrow();
        await tx
          .updateTable("alarm_states")
          .set({ alarm_id: alarm.id })
          .where("rule_id", "=", w.rule.id)
          .execute();
        events.push({ type: "firing", details: { minute, value: m.value, message: m.message } });
      } else if (w.step.transition === "resolved" && w.alarm) {
        alarm =
          (await tx
            .updateTable("alarms")
            .set({ state: "resolved", resolved_at: w.at, ...seen })
            .where("id", "=", w.alarm.id)
            .returningAll()
            .executeTakeFirst()) ?? null;
        events.push({ type: "resolved", details: { minute, value: m.value, message: m.message } });
      } else if (next.state === "firing" && w.alarm) {
        alarm =
          (await tx
            .updateTable("alarms")
            .set({ last_sent_at: next.lastSentAt, ...seen })
            .where("id", "=", w.alarm.id)
            .returningAll()
            .executeTakeFirst()) ?? null;
        if (w.step.notice === "repeat") {
          events.push({ type: "repeat", details: { minute, value: m.value, message: m.message } });
        }
      }
      if (w.step.suppressed && alarm) {
        events.push({
          type: "suppressed",
          details: { notice: w.step.suppressed, silences: w.silencedBy },
        });
      }
      if (alarm && events.length > 0) await recordAlarmEvents(tx, alarm.id, w.at, events);
      return { alarm };
    });
  } catch (e) {
    if (e instanceof VersionConflict) return null;
    throw e;
  }
}

/**
 * End a rule's open alarm without a notice (the rule was disabled) and forget where its
 * evaluation was, so that enabling it again starts from the current minute.
 */
export async function closeRuleAlarm(
  db: Db,
  ruleId: number,
  at: number,
  reason: string,
): Promise<void> {
  const st = await loadRuleState(db, ruleId);
  if (!st) return;
  if (st.state === "firing" && st.alarmId !== null) {
    await db
      .updateTable("alarms")
      .set({ state: "resolved", resolved_at: at })
      .where("id", "=", st.alarmId)
      .where("state", "=", "firing")
      .execute();
    await recordAlarmEvents(db, st.alarmId, at, [{ type: "resolved", details: { reason } }]);
  }
  await db
    .updateTable("alarm_states")
    .set((eb) => ({
      state: st.state === "firing" ? "resolved" : "ok",
      since: null,
      evaluated_minute: null,
      version: eb("version", "+", 1),
      updated_at: at,
    }))
    .where("rule_id", "=", ruleId)
    .execute();
}

function num(v: number | string | bigint | null): number | null {
  return v === null ? null : Number(v);
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}
