/**
 * Carry out one decision of the state machine: its deployments, its steps and the plan
 * row, all in one transaction. The plan row is claimed first with a compare-and-set,
 * so a decision made from a stale read (an operator acted meanwhile, another replica
 * got there first) writes nothing.
 */
import type { Deployment } from "../../core/schemas/machine.js";
import { DEFAULT_WEIGHT } from "../../core/schemas/naming.js";
import { recordSystemAudit } from "../audit/repo.js";
import { getDeployment, setDeployment } from "../machines/deployments.js";
import { desiredRevisionOf } from "../machines/repo.js";
import type { Store } from "../store/index.js";
import type { Db } from "../store/schema.js";
import type { MachineRef } from "./model.js";
import { type Decision, settle } from "./plan.js";
import {
  claimPlan,
  endSteps,
  insertStep,
  type NewStep,
  type PlanRecord,
  writePatch,
} from "./repo.js";
import { nextDeployment } from "./targets.js";

export interface Applied {
  /** False when the plan had moved on since it was read: nothing was written. */
  applied: boolean;
  /** Machines whose desired state changed: wake their agents once this returns. */
  machines: number[];
}

class PlanMoved extends Error {}

const GONE = "the machine is no longer enrolled";

export async function applyDecision(
  store: Store,
  plan: PlanRecord,
  d: Decision,
  now: number,
): Promise<Applied> {
  if (d.kind === "wait") return { applied: false, machines: [] };
  try {
    return await store.transaction(async (tx) => {
      const claimed = { ...plan, updatedAt: Math.max(now, plan.updatedAt + 1) };
      if (!(await claimPlan(tx, plan, claimed.updatedAt))) throw new PlanMoved();
      const machines: number[] = [];
      const stepIds: number[] = [];
      const step = async (s: Omit<NewStep, "planId">) =>
        stepIds.push(await insertStep(tx, { ...s, planId: plan.id }, now));
      /** Set a machine's deployment of the service; undefined when the machine is gone. */
      const set = async (m: MachineRef, to: Deployment | null) => {
        if ((await desiredRevisionOf(tx, m.id)) === undefined) return undefined;
        machines.push(m.id);
        return setDeployment(tx, m.id, plan.service, to, now);
      };

      switch (d.kind) {
        case "finish-steps":
          await endSteps(tx, d.ends, now);
          break;
        case "start-batch":
          for (const m of d.machines) {
            const before = await getDeployment(tx, m.id, plan.service);
            const next = nextDeployment(before, plan.spec, d.weight);
            const base = { batch: d.batch, machine: m, action: "deploy" as const, before };
            if (!next.ok) {
              await step({ ...base, after: null, revision: 0, ended: fail(next.error) });
              continue;
            }
            const revision = await set(m, next.deployment);
            await step({
              ...base,
              after: next.deployment,
              revision: revision ?? 0,
              ...(revision === undefined ? { ended: fail(GONE) } : {}),
            });
          }
          break;
        case "rollback-batch":
        case "start-rollback":
          await endSteps(tx, d.cancel, now);
          for (const mv of d.moves) {
            const before = await getDeployment(tx, mv.machine.id, plan.service);
            const revision = await set(mv.machine, mv.to);
            await step({
              batch: mv.batch,
              machine: mv.machine,
              action: "rollback",
              before,
              after: mv.to,
              revision: revision ?? 0,
              // Nothing left to set back on a machine that was removed.
              ...(revision === undefined
                ? { ended: { state: "succeeded", error: `skipped: ${GONE}` } }
                : {}),
            });
          }
          break;
        case "succeed":
          await fullWeight(tx, plan.service, d.machines, now, machines);
          break;
        default:
          break;
      }

      const patch = settle(plan, d, now, stepIds);
      if (patch) await writePatch(tx, claimed, patch, now);
      await auditDecision(tx, plan, d, now);
      return { applied: true, machines };
    });
  } catch (e) {
    if (e instanceof PlanMoved) return { applied: false, machines: [] };
    throw e;
  }
}

const fail = (error: string) => ({ state: "failed" as const, error });

/** Canaries get their full weight once the plan succeeded (one more revision where it changes). */
async function fullWeight(
  tx: Db,
  service: string,
  targets: readonly MachineRef[],
  now: number,
  changed: number[],
): Promise<void> {
  for (const m of targets) {
    const cur = await getDeployment(tx, m.id, service);
    if (cur && cur.weight !== DEFAULT_WEIGHT) {
      await setDeployment(tx, m.id, service, { ...cur, weight: DEFAULT_WEIGHT }, now);
      changed.push(m.id);
    }
  }
}

/** What the executor did on its own goes to the audit log as the system's doing. */
async function auditDecision(tx: Db, plan: PlanRecord, d: Decision, now: number): Promise<void> {
  const target = `release:${plan.id}`;
  const service = plan.service;
  if (d.kind === "rollback-batch") {
    await recordSystemAudit(
      tx,
      {
        action: "release.batch_failed",
        target,
        details: { service, batch: d.batch, error: d.error },
      },
      now,
    );
  } else if (d.kind === "succeed") {
    await recordSystemAudit(tx, { action: "release.succeeded", target, details: { service } }, now);
  } else if (d.kind === "end") {
    await recordSystemAudit(
      tx,
      { action: `release.${d.state}`, target, details: { service, error: d.error } },
      now,
    );
  }
}
