/**
 * The release executor: the stateful edge around the pure state machine in plan.ts.
 * Every tick (500 ms) it loads each plan with work, the agents' last reports of its
 * machines, asks `advance` what to do, and applies that decision in one transaction
 * (claimed by compare-and-set), then wakes the agents whose desired state changed.
 * Only the holder of the store lease "release-executor" works. Since a plan's whole
 * position lives in the store, a console killed mid-batch and started again (or
 * another replica taking the lease over) goes on from exactly where it stood.
 *
 * ```ts
 * const releases = createReleaseExecutor({ store, log, now: Date.now, desired });
 * await releases.start();   // take the lease, then tick
 * await releases.stop();    // finish the tick in flight, release the lease
 * ```
 */
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { Logger } from "../../core/log.js";
import { createLeaseKeeper, type LeaseKeeper, storeLeases } from "../lease/index.js";
import type { DesiredStateEvents } from "../machines/deployments.js";
import { machineObservation } from "../machines/repo.js";
import type { Store } from "../store/index.js";
import { applyDecision } from "./apply.js";
import type { Observation } from "./model.js";
import { advance, type Decision } from "./plan.js";
import { findPlan, type PlanRecord, workingPlanIds } from "./repo.js";

export const EXECUTOR_LEASE = "release-executor";

export interface ReleaseExecutorDeps {
  store: Store;
  log: Logger;
  now(): number;
  desired: DesiredStateEvents;
  /** Time between ticks; default MSEC_RELEASE_TICK_MS or 500. Null: only explicit `tick()`s. */
  tickMs?: number | null;
  /** Lease holder id; default: host, pid and a random part. */
  holder?: string;
  /**
   * How long a lease grant lasts; default MSEC_RELEASE_LEASE_MS or 15 s: after a crash the
   * plans wait this long at most for the next holder.
   */
  leaseTtlMs?: number;
}

export interface ReleaseExecutor {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** One pass over every plan with work (only while holding the lease); returns decisions applied. */
  tick(): Promise<number>;
  readonly lease: LeaseKeeper;
}

/** A plan's decisions follow one another within a tick up to this many (then the next plan). */
const MAX_DECISIONS_PER_PLAN = 20;

/** A whole number of milliseconds from the environment (tests shorten the executor's timers). */
function msFromEnv(name: string, fallback: number, min: number): number {
  const n = Number(process.env[name]);
  return Number.isInteger(n) && n >= min ? n : fallback;
}

/** Moves running release plans forward, on one console replica at a time (a lease). */
export function createReleaseExecutor(deps: ReleaseExecutorDeps): ReleaseExecutor {
  const { store, now } = deps;
  const log = deps.log.child({ part: "release" });
  const ttlMs = deps.leaseTtlMs ?? msFromEnv("MSEC_RELEASE_LEASE_MS", 15_000, 300);
  /** When this replica took the lease: timeouts and agent silence count from here. */
  let watchingSince = Number.POSITIVE_INFINITY;
  const lease = createLeaseKeeper(storeLeases(store.db), {
    name: EXECUTOR_LEASE,
    holder: deps.holder ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
    now,
    ttlMs,
    renewMs: Math.floor(ttlMs / 3),
    onChange: (held) => {
      if (held) watchingSince = now();
      log.info(
        { holder: lease.holder },
        held
          ? "holding the release-executor lease: moving release plans"
          : "not holding the release-executor lease",
      );
    },
    onError: (err) => log.warn({ err }, "could not renew the release-executor lease"),
  });
  const tickMs =
    deps.tickMs === undefined ? msFromEnv("MSEC_RELEASE_TICK_MS", 500, 10) : deps.tickMs;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  let stopped = false;

  async function observe(plan: PlanRecord): Promise<Map<number, Observation>> {
    const ids = new Set<number>();
    for (const b of plan.progress.batches) for (const m of b.machines) ids.add(m.id);
    for (const s of plan.steps) ids.add(s.machineId);
    return new Map((await machineObservation(store.db, [...ids])).map((o) => [o.id, o]));
  }

  async function advancePlan(id: number): Promise<number> {
    let applied = 0;
    for (let i = 0; i < MAX_DECISIONS_PER_PLAN; i++) {
      if (stopped || !lease.holds()) break;
      const plan = await findPlan(store.db, id);
      if (!plan) break;
      const obs = await observe(plan);
      const at = now();
      const d = advance(plan, obs, at, watchingSince);
      if (d.kind === "wait") break;
      const r = await applyDecision(store, plan, d, at);
      // Moved on under us (an operator's action): look again next tick.
      if (!r.applied) break;
      applied++;
      if (r.machines.length > 0) deps.desired.changed(r.machines);
      logDecision(plan, d);
    }
    return applied;
  }

  function logDecision(plan: PlanRecord, d: Decision): void {
    const at = { planId: plan.id, service: plan.service, decision: d.kind };
    const p = `release #${plan.id} (${plan.service})`;
    switch (d.kind) {
      case "start-batch":
        log.info(at, `${p}: batch ${d.batch + 1} on ${d.machines.map((m) => m.name).join(", ")}`);
        break;
      case "finish-steps":
        for (const e of d.ends) {
          if (e.state === "failed") log.warn({ ...at, step: e.stepId }, `${p}: ${e.error}`);
        }
        break;
      case "pass-gate":
        log.info(
          at,
          `${p}: batch ${d.batch + 1} passed its gate${d.approval ? "; waiting for approval" : ""}`,
        );
        break;
      case "rollback-batch":
        log.warn(at, `${p}: batch ${d.batch + 1} failed, rolling it back: ${d.error}`);
        break;
      case "start-rollback":
        log.info(at, `${p}: rolling back ${d.moves.length} machine(s)`);
        break;
      case "succeed":
        log.info(at, `${p}: succeeded`);
        break;
      case "end":
        log[d.state === "failed" ? "warn" : "info"](
          at,
          `${p}: ${d.state}${d.error ? `: ${d.error}` : ""}`,
        );
        break;
      default:
        break;
    }
  }

  async function tick(): Promise<number> {
    if (stopped || !lease.holds()) return 0;
    let applied = 0;
    for (const id of await workingPlanIds(store.db)) {
      try {
        applied += await advancePlan(id);
      } catch (err) {
        // One broken plan must not hold up the others; it is tried again next tick.
        log.error({ err, planId: id }, `could not move release #${id} forward`);
      }
    }
    return applied;
  }

  function run(): void {
    if (stopped || running || !lease.holds()) return;
    running = tick()
      .catch((err) => log.error({ err }, "release executor tick failed"))
      .finally(() => {
        running = undefined;
      });
  }

  return {
    lease,
    tick,
    async start() {
      stopped = false;
      await lease.start();
      if (tickMs !== null) {
        timer = setInterval(run, tickMs);
        timer.unref();
      }
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      if (timer) clearInterval(timer);
      await running;
      await lease.stop();
    },
  };
}
