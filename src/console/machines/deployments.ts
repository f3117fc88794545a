import { EventEmitter } from "node:events";
import { Deployment } from "../../core/schemas/machine.js";
import type { Db } from "../store/schema.js";

/**
 * What each machine should run: one Deployment per (machine, service). Every change
 * bumps the machine's desired revision, which is what agents long-poll on.
 */

export async function getDeployments(db: Db, machineId: number): Promise<Deployment[]> {
  const rows = await db
    .selectFrom("deployments")
    .select("spec")
    .where("machine_id", "=", machineId)
    .orderBy("service")
    .execute();
  return rows.map((r) => Deployment.parse(JSON.parse(r.spec)));
}

export async function getDeployment(
  db: Db,
  machineId: number,
  service: string,
): Promise<Deployment | null> {
  const row = await db
    .selectFrom("deployments")
    .select("spec")
    .where("machine_id", "=", machineId)
    .where("service", "=", service)
    .executeTakeFirst();
  return row ? Deployment.parse(JSON.parse(row.spec)) : null;
}

/** Ids and names of the machines that have a deployment of this service. */
export async function machinesRunning(
  db: Db,
  service: string,
): Promise<{ id: number; name: string }[]> {
  const rows = await db
    .selectFrom("deployments")
    .innerJoin("machines", "machines.id", "deployments.machine_id")
    .select(["machines.id", "machines.name"])
    .where("deployments.service", "=", service)
    .orderBy("machines.name")
    .execute();
  return rows.map((r) => ({ id: Number(r.id), name: r.name }));
}

/**
 * Set (or, with null, remove) one service's deployment on one machine and bump the
 * machine's desired revision. Call inside the caller's transaction; tell the
 * {@link DesiredStateEvents} after it commits. Returns the new revision.
 */
export async function setDeployment(
  db: Db,
  machineId: number,
  service: string,
  deployment: Deployment | null,
  now: number,
): Promise<number> {
  if (deployment === null) {
    await db
      .deleteFrom("deployments")
      .where("machine_id", "=", machineId)
      .where("service", "=", service)
      .execute();
  } else {
    const spec = JSON.stringify(Deployment.parse(deployment));
    await db
      .insertInto("deployments")
      .values({ machine_id: machineId, service, spec, updated_at: now })
      .onConflict((oc) =>
        oc.columns(["machine_id", "service"]).doUpdateSet({ spec, updated_at: now }),
      )
      .execute();
  }
  const row = await db
    .updateTable("machines")
    .set((eb) => ({ desired_revision: eb("desired_revision", "+", 1) }))
    .where("id", "=", machineId)
    .returning("desired_revision")
    .executeTakeFirstOrThrow();
  return Number(row.desired_revision);
}

/**
 * In-process wake-ups for agents long-polling their desired state. Another console
 * replica's changes are picked up by the long-poll's periodic re-read instead.
 */
export class DesiredStateEvents {
  private readonly emitter = new EventEmitter();

  constructor() {
    // One listener per waiting agent; thousands of machines are normal.
    this.emitter.setMaxListeners(0);
  }

  /** Wake the agents of these machines (after the change committed). */
  changed(machineIds: Iterable<number>): void {
    for (const id of machineIds) this.emitter.emit(String(id));
  }

  /** Resolves on the next change of this machine, or after `ms`, or when aborted. */
  wait(machineId: number, ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const key = String(machineId);
      const done = () => {
        clearTimeout(timer);
        this.emitter.off(key, done);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.emitter.on(key, done);
      signal?.addEventListener("abort", done, { once: true });
    });
  }
}
