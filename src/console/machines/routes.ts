import type { FastifyInstance } from "fastify";
import { z } from "zod";
import {
  type CreatedJoinToken,
  CreateJoinTokenRequest,
  MachineName,
  type MachineView,
  SetMachineLabelsRequest,
} from "../../core/schemas/machine.js";
import { auditRequest } from "../audit/request.js";
import type { ConsoleContext } from "../context.js";
import { principalOf } from "../http/access.js";
import { parseInput } from "../http/validate.js";
import { agentRoutes } from "./agent-routes.js";
import { applyLabelChanges, parseLabels } from "./labels.js";
import {
  createJoinToken,
  deleteJoinToken,
  deleteMachine,
  deploymentsOf,
  getMachineByName,
  listJoinTokens,
  listMachines,
  setMachineLabels,
  toJoinTokenView,
  toMachineView,
} from "./repo.js";

const MachineParams = z.object({ name: MachineName });
const TokenParams = z.object({ id: z.coerce.number().int().positive() });

/**
 * Machines: join tokens, enrollment, listing, labels, and the agent's desired/actual state.
 * Static paths (`/machines/tokens`, `/machines/self/...`) win over `/machines/:name` in
 * Fastify's router; enrollment refuses those names, so no machine hides behind them.
 */
export function machineRoutes(app: FastifyInstance, ctx: ConsoleContext): void {
  agentRoutes(app, ctx);

  app.post("/machines/tokens", { config: { access: "admin" } }, async (req, reply) => {
    const who = principalOf(req);
    const body = parseInput(CreateJoinTokenRequest, req.body, "body");
    const now = ctx.now();
    const created = await ctx.store.transaction(async (tx) => {
      const { row, secret } = await createJoinToken(
        tx,
        {
          createdBy: who.username,
          labels: body.labels,
          ttlSeconds: body.ttlSeconds,
          note: body.note,
        },
        now,
      );
      const view: CreatedJoinToken = { ...toJoinTokenView(row), token: secret };
      await auditRequest(req, tx, now, {
        action: "machine.token.create",
        target: `join-token:${view.id}`,
        details: { labels: view.labels, expiresAt: view.expiresAt, note: view.note },
      });
      return view;
    });
    return reply.status(201).send(created);
  });

  app.get("/machines/tokens", { config: { access: "admin" } }, async () => {
    return { tokens: (await listJoinTokens(ctx.store.db)).map(toJoinTokenView) };
  });

  app.delete("/machines/tokens/:id", { config: { access: "admin" } }, async (req, reply) => {
    const { id } = parseInput(TokenParams, req.params, "params");
    const now = ctx.now();
    await ctx.store.transaction(async (tx) => {
      const row = await deleteJoinToken(tx, id);
      await auditRequest(req, tx, now, {
        action: "machine.token.revoke",
        target: `join-token:${id}`,
        details: { note: row.note },
      });
    });
    return reply.status(204).send();
  });

  app.get("/machines", { config: { access: "viewer" } }, async () => {
    const machines = await listMachines(ctx.store.db);
    const deployments = await deploymentsOf(
      ctx.store.db,
      machines.map((m) => m.id),
    );
    const now = ctx.now();
    const views: MachineView[] = machines.map((m) =>
      toMachineView(m, deployments.get(m.id) ?? [], now),
    );
    return { machines: views };
  });

  app.get("/machines/:name", { config: { access: "viewer" } }, async (req) => {
    const { name } = parseInput(MachineParams, req.params, "params");
    return machineView(ctx, name);
  });

  app.patch("/machines/:name/labels", { config: { access: "operator" } }, async (req) => {
    const { name } = parseInput(MachineParams, req.params, "params");
    const { labels: changes } = parseInput(SetMachineLabelsRequest, req.body, "body");
    // Names (even of labels to remove) and values by core's rules, then the result's size.
    parseLabels(Object.fromEntries(Object.entries(changes).map(([k, v]) => [k, v ?? ""])));
    const now = ctx.now();
    await ctx.store.transaction(async (tx) => {
      const m = await getMachineByName(tx, name);
      const next = parseLabels(applyLabelChanges(m.labels, changes));
      await setMachineLabels(tx, m.id, next);
      await auditRequest(req, tx, now, {
        action: "machine.labels",
        target: `machine:${name}`,
        details: { changes, before: m.labels, after: next },
      });
    });
    return machineView(ctx, name);
  });

  app.delete("/machines/:name", { config: { access: "admin" } }, async (req, reply) => {
    const { name } = parseInput(MachineParams, req.params, "params");
    const now = ctx.now();
    const id = await ctx.store.transaction(async (tx) => {
      const m = await getMachineByName(tx, name);
      const services = ((await deploymentsOf(tx, [m.id])).get(m.id) ?? []).map((d) => d.service);
      await deleteMachine(tx, m.id);
      await auditRequest(req, tx, now, {
        action: "machine.remove",
        target: `machine:${name}`,
        details: { hostname: m.hostname, labels: m.labels, deployments: services },
      });
      return m.id;
    });
    // Its agent's waiting long-poll ends now (with 401) instead of at its timeout.
    ctx.desired.changed([id]);
    return reply.status(204).send();
  });
}

async function machineView(ctx: ConsoleContext, name: string): Promise<MachineView> {
  const m = await getMachineByName(ctx.store.db, name);
  const deployments = (await deploymentsOf(ctx.store.db, [m.id])).get(m.id) ?? [];
  return toMachineView(m, deployments, ctx.now());
}
