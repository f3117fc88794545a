/**
 * The release API: create a plan (a draft, its artifact versions resolved and checked),
 * list and show plans, and the operator's actions execute / pause / resume / abort /
 * rollback. Each change is audited in its own transaction; the executor does the rest.
 */
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { MsecError } from "../../core/errors.js";
import type { ArtifactKind } from "../../core/schemas/artifact.js";
import type { ArtifactRef } from "../../core/schemas/machine.js";
import {
  CreateReleaseRequest,
  ReleaseAction,
  ReleaseQuery,
  type ReleaseSpec,
  type ResolvedArtifacts,
} from "../../core/schemas/release.js";
import { getArtifact, isUniqueViolation } from "../artifacts/repo.js";
import { auditRequest } from "../audit/request.js";
import type { ConsoleContext } from "../context.js";
import { principalOf } from "../http/access.js";
import { parseInput } from "../http/validate.js";
import { machinesRunning } from "../machines/deployments.js";
import { listMachines } from "../machines/repo.js";
import type { Db } from "../store/schema.js";
import { ACTION_STATES, type ActInput, act } from "./actions.js";
import {
  activePlanOf,
  getPlan,
  insertPlan,
  laterExecutedPlan,
  listPlans,
  type PlanRecord,
  writePatch,
} from "./repo.js";
import { resolveTargets, splitBatches } from "./targets.js";
import { toReleaseView } from "./view.js";

const IdParams = z.object({ id: z.coerce.number().int().positive() });
const ActionParams = IdParams.extend({ action: ReleaseAction });

/** Tries at an action when the executor keeps moving the plan under it. */
const ACTION_ATTEMPTS = 5;

class PlanMoved extends Error {}

const badField = (field: string, message: string) =>
  new MsecError("invalid_argument", `${field}: ${message}`, { field });

async function artifactRef(
  db: Db,
  service: string,
  kind: ArtifactKind,
  version: number,
  field: string,
): Promise<ArtifactRef> {
  try {
    const a = await getArtifact(db, service, kind, version);
    return { version: Number(a.version), sha256: a.sha256, signature: a.signature, name: a.name };
  } catch (e) {
    if (e instanceof MsecError && e.code === "not_found")
      throw badField(field, `no ${kind} version ${version} of ${service}`);
    throw e;
  }
}

/** Every version named must exist for the service; config files must have distinct names. */
async function resolveArtifacts(db: Db, r: CreateReleaseRequest): Promise<ResolvedArtifacts> {
  const v = r.versions;
  const out: ResolvedArtifacts = {};
  const f = (part: string, i?: number) => `body.versions.${part}${i === undefined ? "" : `.${i}`}`;
  if (v.package !== undefined)
    out.package = await artifactRef(db, r.service, "package", v.package, f("package"));
  const list = async (part: "configs" | "libs" | "plugins", kind: ArtifactKind, vs?: number[]) => {
    if (vs === undefined) return undefined;
    const refs: ArtifactRef[] = [];
    for (const [i, version] of vs.entries())
      refs.push(await artifactRef(db, r.service, kind, version, f(part, i)));
    return refs;
  };
  const configs = await list("configs", "config", v.configs);
  if (configs) {
    const seen = new Map<string, number>();
    for (const [i, c] of configs.entries()) {
      if (c.name === null)
        throw badField(f("configs", i), `config version ${c.version} has no file name`);
      const other = seen.get(c.name);
      if (other !== undefined) {
        throw badField(
          f("configs", i),
          `config versions ${other} and ${c.version} are both the file ${c.name}`,
        );
      }
      seen.set(c.name, c.version);
    }
    out.configs = configs;
  }
  const libs = await list("libs", "lib", v.libs);
  if (libs) out.libs = libs;
  const plugins = await list("plugins", "plugin", v.plugins);
  if (plugins) out.plugins = plugins;
  return out;
}

const busy = (other: number, service: string) =>
  new MsecError(
    "already_exists",
    `release #${other} is already moving ${service}: let it end, or abort it, first`,
  );

/** What an action needs besides the plan: execute resolves its targets now. */
async function actionInput(tx: Db, plan: PlanRecord, action: ReleaseAction): Promise<ActInput> {
  if (!ACTION_STATES[action].includes(plan.state)) {
    // act() answers with the reason.
    return action === "execute" ? { action, batches: [] } : { action };
  }
  if (action === "execute" || action === "rollback") {
    const other = await activePlanOf(tx, plan.service, plan.id);
    if (other !== undefined) throw busy(other, plan.service);
  }
  if (action === "rollback") {
    const later = await laterExecutedPlan(tx, plan.service, plan.id);
    if (later !== undefined) {
      throw new MsecError(
        "aborted",
        `release #${later} changed ${plan.service} after this one: roll that one back instead`,
      );
    }
  }
  if (action !== "execute") return { action };
  const fleet = {
    machines: await listMachines(tx),
    running: await machinesRunning(tx, plan.service),
  };
  const r = resolveTargets(plan.spec, fleet);
  if (!r.ok) throw badField(`spec.${r.field}`, r.message);
  return { action, batches: splitBatches(r.machines, plan.spec.batches) };
}

export function releaseRoutes(app: FastifyInstance, ctx: ConsoleContext): void {
  const { store } = ctx;

  app.post("/releases", { config: { access: "operator" } }, async (req, reply) => {
    const body = parseInput(CreateReleaseRequest, req.body, "body");
    const spec: ReleaseSpec = { ...body, artifacts: await resolveArtifacts(store.db, body) };
    const who = principalOf(req);
    const now = ctx.now();
    const view = await store.transaction(async (tx) => {
      const id = await insertPlan(tx, spec, who.username, now);
      await auditRequest(req, tx, now, {
        action: "release.create",
        target: `release:${id}`,
        details: { service: spec.service, type: spec.type, versions: spec.versions },
      });
      return toReleaseView(await getPlan(tx, id));
    });
    return reply.status(201).send(view);
  });

  app.get("/releases", { config: { access: "viewer" } }, async (req) => {
    const q = parseInput(ReleaseQuery, req.query, "query");
    return { releases: (await listPlans(store.db, q)).map(toReleaseView) };
  });

  app.get("/releases/:id", { config: { access: "viewer" } }, async (req) => {
    const { id } = parseInput(IdParams, req.params, "params");
    return toReleaseView(await getPlan(store.db, id));
  });

  app.post("/releases/:id/:action", { config: { access: "operator" } }, async (req) => {
    const { id, action } = parseInput(ActionParams, req.params, "params");
    for (let attempt = 1; ; attempt++) {
      const now = ctx.now();
      try {
        return await store.transaction(async (tx) => {
          const plan = await getPlan(tx, id);
          const r = act(plan, await actionInput(tx, plan, action), now);
          if (!r.ok) throw new MsecError("aborted", `release #${id}: ${r.message}`);
          if (!(await writePatch(tx, plan, r.patch, now))) throw new PlanMoved();
          const after = await getPlan(tx, id);
          await auditRequest(req, tx, now, {
            action: `release.${action}`,
            target: `release:${id}`,
            details: {
              service: plan.service,
              from: plan.state,
              to: after.state,
              ...(action === "execute"
                ? { batches: after.progress.batches.map((b) => b.machines.map((m) => m.name)) }
                : {}),
            },
          });
          return toReleaseView(after);
        });
      } catch (e) {
        if (isUniqueViolation(e)) {
          // Another plan of the service got going at the same moment; the index refused this one.
          const plan = await getPlan(store.db, id);
          throw busy((await activePlanOf(store.db, plan.service, id)) ?? 0, plan.service);
        }
        if (!(e instanceof PlanMoved)) throw e;
        if (attempt >= ACTION_ATTEMPTS)
          throw new MsecError("aborted", `release #${id} kept changing; try again`);
      }
    }
  });
}
