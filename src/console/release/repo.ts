/**
 * Release plans and their steps in the store. Every write to a plan row is a
 * compare-and-set on its `updated_at` (and state), so a decision made from a stale read
 * — an operator's action that came first, another replica — changes nothing.
 */
import { MsecError } from "../../core/errors.js";
import { Deployment } from "../../core/schemas/machine.js";
import { type ReleaseQuery, ReleaseSpec, type ReleaseState } from "../../core/schemas/release.js";
import type { Db, ReleasePlanRow, ReleaseStepRow } from "../store/schema.js";
import {
  EMPTY_PROGRESS,
  type MachineRef,
  type PausedFor,
  type Plan,
  Progress,
  type Step,
  type StepAction,
} from "./model.js";
import type { PlanPatch, StepEnd } from "./plan.js";

/** A plan with what the view shows besides the state machine's data. */
export interface PlanRecord extends Plan {
  type: string;
  createdBy: string;
  createdAt: number;
  updatedAt: number;
  startedAt: number | null;
  endedAt: number | null;
  note: string;
}

/** States in which a plan moves a service; the store allows one such plan per service. */
export const ACTIVE_STATES: readonly ReleaseState[] = ["running", "paused", "rolling_back"];

const parseDeployment = (json: string | null): Deployment | null =>
  json === null ? null : Deployment.parse(JSON.parse(json));

export function toStep(r: ReleaseStepRow): Step {
  return {
    id: Number(r.id),
    batch: Number(r.batch),
    machineId: Number(r.machine_id),
    machineName: r.machine_name,
    action: r.action as StepAction,
    state: r.state as Step["state"],
    before: parseDeployment(r.before),
    after: parseDeployment(r.after),
    revision: Number(r.revision),
    startedAt: Number(r.started_at),
    endedAt: r.ended_at === null ? null : Number(r.ended_at),
    error: r.error,
  };
}

function toRecord(r: ReleasePlanRow, steps: Step[]): PlanRecord {
  return {
    id: Number(r.id),
    service: r.service,
    type: r.type,
    state: r.state as ReleaseState,
    pausedFor: r.paused_for as PausedFor | null,
    spec: ReleaseSpec.parse(JSON.parse(r.spec)),
    progress: Progress.parse(JSON.parse(r.progress)),
    steps,
    error: r.error,
    createdBy: r.created_by,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    startedAt: r.started_at === null ? null : Number(r.started_at),
    endedAt: r.ended_at === null ? null : Number(r.ended_at),
    note: r.note,
  };
}

export async function insertPlan(
  db: Db,
  spec: ReleaseSpec,
  createdBy: string,
  now: number,
): Promise<number> {
  const row = await db
    .insertInto("release_plans")
    .values({
      service: spec.service,
      type: spec.type,
      state: "draft",
      paused_for: null,
      spec: JSON.stringify(spec),
      progress: JSON.stringify(EMPTY_PROGRESS),
      created_by: createdBy,
      created_at: now,
      updated_at: now,
      started_at: null,
      ended_at: null,
      error: null,
      note: spec.note,
    })
    .returning("id")
    .executeTakeFirstOrThrow();
  return Number(row.id);
}

export async function stepsOf(db: Db, planId: number): Promise<Step[]> {
  const rows = await db
    .selectFrom("release_steps")
    .selectAll()
    .where("plan_id", "=", planId)
    .orderBy("id")
    .execute();
  return rows.map(toStep);
}

export async function findPlan(db: Db, id: number): Promise<PlanRecord | undefined> {
  const row = await db
    .selectFrom("release_plans")
    .selectAll()
    .where("id", "=", id)
    .executeTakeFirst();
  return row ? toRecord(row, await stepsOf(db, id)) : undefined;
}

export async function getPlan(db: Db, id: number): Promise<PlanRecord> {
  const plan = await findPlan(db, id);
  if (!plan) throw new MsecError("not_found", `no release plan #${id}`);
  return plan;
}

/** Newest first, without steps. */
export async function listPlans(db: Db, q: ReleaseQuery): Promise<PlanRecord[]> {
  let query = db.selectFrom("release_plans").selectAll();
  if (q.service !== undefined) query = query.where("service", "=", q.service);
  if (q.state !== undefined) query = query.where("state", "=", q.state);
  const rows = await query.orderBy("id", "desc").limit(q.limit).execute();
  return rows.map((r) => toRecord(r, []));
}

/** The plan moving this service now, if any (other than `except`). */
export async function activePlanOf(
  db: Db,
  service: string,
  except?: number,
): Promise<number | undefined> {
  let q = db
    .selectFrom("release_plans")
    .select("id")
    .where("service", "=", service)
    .where("state", "in", [...ACTIVE_STATES]);
  if (except !== undefined) q = q.where("id", "!=", except);
  const row = await q.executeTakeFirst();
  return row ? Number(row.id) : undefined;
}

/**
 * A later plan of the service that has been executed and not rolled back: rolling this one
 * back would undo it. (Once that one is rolled back, this one may be: "roll that one back
 * instead" must lead somewhere.)
 */
export async function laterExecutedPlan(
  db: Db,
  service: string,
  id: number,
): Promise<number | undefined> {
  const row = await db
    .selectFrom("release_plans")
    .select("id")
    .where("service", "=", service)
    .where("id", ">", id)
    .where("started_at", "is not", null)
    .where("state", "!=", "rolled_back")
    .orderBy("id", "desc")
    .executeTakeFirst();
  return row ? Number(row.id) : undefined;
}

/** Plans the executor has work on: moving ones, and any with steps still in flight. */
export async function workingPlanIds(db: Db): Promise<number[]> {
  const rows = await db
    .selectFrom("release_plans")
    .select("id")
    .where((eb) =>
      eb.or([
        eb("state", "in", [...ACTIVE_STATES]),
        eb(
          "id",
          "in",
          eb.selectFrom("release_steps").select("plan_id").where("state", "=", "running"),
        ),
      ]),
    )
    .orderBy("id")
    .execute();
  return rows.map((r) => Number(r.id));
}

/**
 * Write a plan's new state if nobody wrote it since `plan` was read. Returns false when
 * the row moved on (the caller's whole transaction should then be given up).
 */
export async function writePatch(
  db: Db,
  plan: Pick<PlanRecord, "id" | "state" | "updatedAt">,
  patch: PlanPatch,
  now: number,
): Promise<boolean> {
  const r = await db
    .updateTable("release_plans")
    .set({
      state: patch.state,
      paused_for: patch.pausedFor,
      progress: JSON.stringify(Progress.parse(patch.progress)),
      error: patch.error,
      // Strictly growing, so the next compare-and-set sees this write even within one ms.
      updated_at: Math.max(now, plan.updatedAt + 1),
      ...(patch.startedAt !== undefined ? { started_at: patch.startedAt } : {}),
      ...(patch.endedAt !== undefined ? { ended_at: patch.endedAt } : {}),
    })
    .where("id", "=", plan.id)
    .where("updated_at", "=", plan.updatedAt)
    .where("state", "=", plan.state)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/**
 * Take the plan row for one decision: move `updated_at` on if nobody wrote the row since
 * `plan` was read (on PostgreSQL this also locks the row until the transaction ends).
 */
export async function claimPlan(
  db: Db,
  plan: Pick<PlanRecord, "id" | "state" | "updatedAt">,
  updatedAt: number,
): Promise<boolean> {
  const r = await db
    .updateTable("release_plans")
    .set({ updated_at: updatedAt })
    .where("id", "=", plan.id)
    .where("updated_at", "=", plan.updatedAt)
    .where("state", "=", plan.state)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

export interface NewStep {
  planId: number;
  batch: number;
  machine: MachineRef;
  action: StepAction;
  before: Deployment | null;
  after: Deployment | null;
  revision: number;
  /** A step that needs no waiting (it could not start, or had nothing to do) is stored ended. */
  ended?: { state: "succeeded" | "failed"; error: string };
}

export async function insertStep(db: Db, s: NewStep, now: number): Promise<number> {
  const row = await db
    .insertInto("release_steps")
    .values({
      plan_id: s.planId,
      batch: s.batch,
      machine_id: s.machine.id,
      machine_name: s.machine.name,
      action: s.action,
      state: s.ended?.state ?? "running",
      before: s.before === null ? null : JSON.stringify(s.before),
      after: s.after === null ? null : JSON.stringify(s.after),
      revision: s.revision,
      started_at: now,
      ended_at: s.ended ? now : null,
      error: s.ended?.error ?? null,
    })
    .returning("id")
    .executeTakeFirstOrThrow();
  return Number(row.id);
}

/** Record steps that ended; one already ended is left as it was. */
export async function endSteps(db: Db, ends: readonly StepEnd[], now: number): Promise<void> {
  for (const e of ends) {
    await db
      .updateTable("release_steps")
      .set({ state: e.state, error: e.error, ended_at: now })
      .where("id", "=", e.stepId)
      .where("state", "=", "running")
      .execute();
  }
}
