import type { FastifyInstance, FastifyRequest } from "fastify";
import { z } from "zod";
import { MsecError } from "../../core/errors.js";
import { MINUTE_MS } from "../../core/schemas/monitor.js";
import {
  CreateServiceRequest,
  HeartbeatRequest,
  InstanceAddr,
  RegisterInstanceRequest,
  ServiceName,
  type ServiceSummary,
  SetWeightRequest,
} from "../../core/schemas/naming.js";
import { auditRequest } from "../audit/request.js";
import type { ConsoleContext } from "../context.js";
import { parseInput } from "../http/validate.js";
import { callsAt } from "../monitor/query.js";
import type { Db } from "../store/schema.js";
import type { AuditHook } from "./service.js";

const ServiceParams = z.object({ name: ServiceName });
// Fastify has already URL-decoded the path: `127.0.0.1%3A8080` arrives as `127.0.0.1:8080`.
const InstanceParams = z.object({ name: ServiceName, addr: InstanceAddr });
const DeleteServiceQuery = z.object({ force: z.stringbool().default(false) });

/** At most this many names in one watch. */
const MAX_WATCHED = 100;
const WatchParams = z.object({
  name: z
    .string()
    .transform((s) => s.split(","))
    .pipe(z.array(ServiceName).min(1).max(MAX_WATCHED)),
});
const WatchQuery = z.object({
  revisions: z
    .string()
    .regex(/^\d+(,\d+)*$/, "must be revisions separated by commas, e.g. 3,7")
    .transform((s) => s.split(",").map(Number))
    .optional(),
});

/** How many alarms fire now, per service (one grouped count). */
async function firingByService(db: Db): Promise<Map<string, number>> {
  const rows = await db
    .selectFrom("alarms")
    .select((eb) => ["service", eb.fn.countAll<number>().as("n")])
    .where("state", "=", "firing")
    .groupBy("service")
    .execute();
  return new Map(rows.map((r) => [r.service, Number(r.n)]));
}

/**
 * The name service's API: services, their instances, heartbeats, operator controls
 * and watches (server-sent events).
 */
export function namingRoutes(app: FastifyInstance, ctx: ConsoleContext): void {
  const naming = ctx.naming;

  /** Audit a person's change with this request's caller. */
  const audited =
    (req: FastifyRequest, action: string, target: string): AuditHook =>
    (tx, now, details) =>
      auditRequest(req, tx, now, { action, target, details });

  // With each service's latest complete minute of calls and its firing alarms: two
  // queries for the whole list, whatever its length.
  app.get("/services", { config: { access: "viewer", machines: true } }, async () => {
    const services = naming.listServices();
    const minute = Math.floor(ctx.now() / MINUTE_MS) * MINUTE_MS - MINUTE_MS;
    const [calls, firing] = await Promise.all([
      callsAt(ctx.store.db, minute),
      firingByService(ctx.store.db),
    ]);
    return {
      services: services.map((s): ServiceSummary => {
        const c = calls.get(s.name);
        return {
          ...s,
          ...(c ? { callsPerMinute: c.calls, errorsPerMinute: c.errors } : {}),
          firingAlarms: firing.get(s.name) ?? 0,
        };
      }),
    };
  });

  app.post("/services", { config: { access: "operator" } }, async (req, reply) => {
    const body = parseInput(CreateServiceRequest, req.body, "body");
    const summary = await naming.createService(
      body,
      audited(req, "service.create", `service:${body.name}`),
    );
    return reply.status(201).send(summary);
  });

  app.get("/services/:name", { config: { access: "viewer", machines: true } }, async (req) => {
    const { name } = parseInput(ServiceParams, req.params, "params");
    return naming.getService(name);
  });

  app.delete("/services/:name", { config: { access: "operator" } }, async (req, reply) => {
    const { name } = parseInput(ServiceParams, req.params, "params");
    const { force } = parseInput(DeleteServiceQuery, req.query, "query");
    await naming.deleteService(name, force, audited(req, "service.delete", `service:${name}`));
    return reply.status(204).send();
  });

  app.get(
    "/services/:name/instances",
    { config: { access: "viewer", machines: true } },
    async (req) => {
      const { name } = parseInput(ServiceParams, req.params, "params");
      return naming.view(name);
    },
  );

  // Machine traffic (agents, the runtime): logged, not audited.
  app.post(
    "/services/:name/instances",
    { config: { access: "operator", machines: true } },
    async (req, reply) => {
      const { name } = parseInput(ServiceParams, req.params, "params");
      const body = parseInput(RegisterInstanceRequest, req.body, "body");
      return reply.status(201).send(await naming.register(name, body));
    },
  );

  app.delete(
    "/services/:name/instances/:addr",
    { config: { access: "operator", machines: true } },
    async (req, reply) => {
      const { name, addr } = parseInput(InstanceParams, req.params, "params");
      await naming.deregister(name, addr);
      return reply.status(204).send();
    },
  );

  // 10,000 beats (the schema's ceiling) with long names need more than the default 1 MiB.
  const heartbeatLimits = {
    config: { access: "operator" as const, machines: true },
    bodyLimit: 4 * 1024 * 1024,
  };
  app.post("/naming/heartbeats", heartbeatLimits, async (req) => {
    const body = parseInput(HeartbeatRequest, req.body, "body");
    return naming.heartbeat(body.beats);
  });

  // Operator controls: audited in the change's transaction.
  app.put(
    "/services/:name/instances/:addr/weight",
    { config: { access: "operator" } },
    async (req) => {
      const { name, addr } = parseInput(InstanceParams, req.params, "params");
      const { weight } = parseInput(SetWeightRequest, req.body, "body");
      return naming.setWeight(
        name,
        addr,
        weight,
        audited(req, "instance.weight", `instance:${name}/${addr}`),
      );
    },
  );

  for (const [verb, disabled] of [
    ["disable", true],
    ["enable", false],
  ] as const) {
    app.post(
      `/services/:name/instances/:addr/${verb}`,
      { config: { access: "operator" } },
      async (req) => {
        const { name, addr } = parseInput(InstanceParams, req.params, "params");
        return naming.setDisabled(
          name,
          addr,
          disabled,
          audited(req, `instance.${verb}`, `instance:${name}/${addr}`),
        );
      },
    );
  }

  // `:name` is one name or several separated by commas.
  app.get(
    "/services/:name/watch",
    { config: { access: "viewer", machines: true } },
    async (req, reply) => {
      const { name: names } = parseInput(WatchParams, req.params, "params");
      const { revisions } = parseInput(WatchQuery, req.query, "query");
      if (revisions && revisions.length !== names.length) {
        throw new MsecError(
          "invalid_argument",
          `query.revisions: gives ${revisions.length} revision(s) for ${names.length} name(s); give one per name, in the same order`,
          { field: "query.revisions" },
        );
      }
      if (naming.watches.closed) {
        throw new MsecError("unavailable", "the console is shutting down; reconnect shortly");
      }
      const watched = new Map<string, number | undefined>();
      names.forEach((n, i) => {
        if (!watched.has(n)) watched.set(n, revisions?.[i]);
      });
      // The stream outlives this handler: take the response over from Fastify.
      reply.hijack();
      naming.watches.open(reply.raw, [...watched.keys()], [...watched.values()]);
    },
  );
}
