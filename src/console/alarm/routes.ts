/**
 * The alarm API: rules (viewer reads, operator writes), receivers (admin: a command
 * receiver runs a program on the console's host), alarms with their history and
 * acknowledgement, and silences. Every change is audited in its own transaction.
 */
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { MsecError } from "../../core/errors.js";
import {
  AckRequest,
  type AlarmMessage,
  AlarmQuery,
  AlarmRuleInput,
  type AlarmRuleSpec,
  PreviewRequest,
  type PreviewResult,
  ReceiverInput,
  ReceiverName,
  RuleQuery,
  SilenceInput,
  SilenceQuery,
} from "../../core/schemas/alarm.js";
import { MINUTE_MS } from "../../core/schemas/monitor.js";
import { auditRequest } from "../audit/request.js";
import type { ConsoleContext } from "../context.js";
import { principalOf } from "../http/access.js";
import { parseInput } from "../http/validate.js";
import { readMinutes } from "../monitor/points.js";
import type { Db } from "../store/schema.js";
import { ackAlarm, getAlarm, listAlarmEvents, listAlarms, toAlarmView } from "./alarm-repo.js";
import { createNotifier } from "./notifiers/index.js";
import { errorText } from "./notifiers/notifier.js";
import { simulate } from "./preview.js";
import {
  deleteReceiver,
  findReceiver,
  insertReceiver,
  listReceivers,
  replaceReceiver,
  rulesUsing,
  toReceiverSpec,
  toReceiverView,
  unknownReceivers,
} from "./receiver-repo.js";
import {
  closeRuleAlarm,
  deleteRule,
  getRule,
  insertRule,
  listRules,
  toRuleView,
  updateRule,
} from "./repo.js";
import { conditionOf, DAY_MS, needs } from "./rules.js";
import {
  deleteSilence,
  getSilence,
  insertSilence,
  listSilences,
  toSilenceView,
} from "./silence-repo.js";

const IdParams = z.object({ id: z.coerce.number().int().positive() });
const NameParams = z.object({ name: ReceiverName });
const MAX_PREVIEW_MS = 7 * DAY_MS;

async function checkReceivers(db: Db, spec: AlarmRuleSpec): Promise<void> {
  const unknown = await unknownReceivers(db, spec.receivers);
  const first = unknown[0];
  if (first !== undefined) {
    const field = `body.receivers.${spec.receivers.indexOf(first)}`;
    throw new MsecError(
      "invalid_argument",
      `${field}: no receiver named "${first}" (add it with \`msec alarm receiver add\`)`,
      {
        field,
      },
    );
  }
}

const ruleTarget = (id: number) => `alarm-rule:${id}`;
const ruleDetails = (s: AlarmRuleSpec) => ({
  service: s.service,
  attr: s.attr,
  instance: s.instance,
  kind: s.kind,
  enabled: s.enabled,
});

/**
 * How a rule would have fired over [from, to] (default: the 24 hours up to the latest
 * complete minute, at most 7 days): the stored minutes it needs (with the flap window's
 * warm-up, the fluctuation's earlier minutes or yesterday), run through `simulate`.
 */
async function previewRule(
  db: Db,
  s: AlarmRuleSpec,
  body: { from?: string | undefined; to?: string | undefined },
  now: number,
): Promise<PreviewResult> {
  const lastComplete = Math.floor(now / MINUTE_MS) * MINUTE_MS - MINUTE_MS;
  const to = body.to ? Math.floor(Date.parse(body.to) / MINUTE_MS) * MINUTE_MS : lastComplete;
  const from = body.from
    ? Math.floor(Date.parse(body.from) / MINUTE_MS) * MINUTE_MS
    : to - DAY_MS + MINUTE_MS;
  if (from > to)
    throw new MsecError("invalid_argument", "body.from: must not be after to", {
      field: "body.from",
    });
  if (to - from > MAX_PREVIEW_MS) {
    throw new MsecError("invalid_argument", "body.from: a preview covers at most 7 days", {
      field: "body.from",
    });
  }
  const need = needs(conditionOf(s));
  const q = { service: s.service, attr: s.attr, instance: s.instance };
  const warm = (s.flap.m - 1) * MINUTE_MS;
  const series = new Map<number, number>();
  for (const p of await readMinutes(db, { ...q, from: from - warm - need.before * MINUTE_MS, to }))
    series.set(p.minute, p.value);
  if (need.yesterday) {
    for (const p of await readMinutes(db, { ...q, from: from - warm - DAY_MS, to: to - DAY_MS }))
      series.set(p.minute, p.value);
  }
  const sim = simulate(s, series, from, to);
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    from: iso(from),
    to: iso(to),
    firing: sim.firing.map((f) => ({ ...f, minute: iso(f.minute) })),
    alarms: sim.alarms.map((a) => ({
      firedAt: iso(a.firedAt),
      resolvedAt: a.resolvedAt === null ? null : iso(a.resolvedAt),
    })),
  };
}

export function alarmRoutes(app: FastifyInstance, ctx: ConsoleContext): void {
  const { store } = ctx;

  // Rules.

  app.get("/alarm-rules", { config: { access: "viewer" } }, async (req) => {
    const q = parseInput(RuleQuery, req.query, "query");
    const rules = await listRules(store.db, { service: q.service });
    return { rules: rules.map((r) => toRuleView(r.rule, r.state)) };
  });

  app.get("/alarm-rules/:id", { config: { access: "viewer" } }, async (req) => {
    const { id } = parseInput(IdParams, req.params, "params");
    const r = await getRule(store.db, id);
    return toRuleView(r.rule, r.state);
  });

  app.post("/alarm-rules", { config: { access: "operator" } }, async (req, reply) => {
    const spec = parseInput(AlarmRuleInput, req.body, "body");
    const now = ctx.now();
    const view = await store.transaction(async (tx) => {
      await checkReceivers(tx, spec);
      const rule = await insertRule(tx, spec, now);
      await auditRequest(req, tx, now, {
        action: "alarm.rule.create",
        target: ruleTarget(rule.id),
        details: ruleDetails(spec),
      });
      const r = await getRule(tx, rule.id);
      return toRuleView(r.rule, r.state);
    });
    return reply.status(201).send(view);
  });

  app.put("/alarm-rules/:id", { config: { access: "operator" } }, async (req) => {
    const { id } = parseInput(IdParams, req.params, "params");
    const spec = parseInput(AlarmRuleInput, req.body, "body");
    const now = ctx.now();
    return store.transaction(async (tx) => {
      const before = await getRule(tx, id);
      await checkReceivers(tx, spec);
      await updateRule(tx, id, spec, now);
      if (before.rule.spec.enabled && !spec.enabled)
        await closeRuleAlarm(tx, id, now, "rule disabled");
      await auditRequest(req, tx, now, {
        action: "alarm.rule.update",
        target: ruleTarget(id),
        details: ruleDetails(spec),
      });
      const r = await getRule(tx, id);
      return toRuleView(r.rule, r.state);
    });
  });

  app.delete("/alarm-rules/:id", { config: { access: "operator" } }, async (req, reply) => {
    const { id } = parseInput(IdParams, req.params, "params");
    const now = ctx.now();
    await store.transaction(async (tx) => {
      const r = await getRule(tx, id);
      await closeRuleAlarm(tx, id, now, "rule deleted");
      await deleteRule(tx, id);
      await auditRequest(req, tx, now, {
        action: "alarm.rule.delete",
        target: ruleTarget(id),
        details: ruleDetails(r.rule.spec),
      });
    });
    return reply.status(204).send();
  });

  app.post("/alarm-rules/:id/preview", { config: { access: "viewer" } }, async (req) => {
    const { id } = parseInput(IdParams, req.params, "params");
    const body = parseInput(PreviewRequest, req.body ?? {}, "body");
    const { rule } = await getRule(store.db, id);
    return previewRule(store.db, rule.spec, body, ctx.now());
  });

  // A rule not saved yet (the editor's "Preview"): the body of a new rule, and optionally
  // `from`/`to`. Operator, like creating the rule; nothing is written and nobody is notified.
  app.post("/alarm-rules/preview", { config: { access: "operator" } }, async (req) => {
    const spec = parseInput(AlarmRuleInput, req.body, "body");
    const { from, to } = (req.body ?? {}) as { from?: unknown; to?: unknown };
    const range = parseInput(PreviewRequest, { from, to }, "body");
    return previewRule(store.db, spec, range, ctx.now());
  });

  // Receivers.

  app.get("/alarm-receivers", { config: { access: "admin" } }, async () => {
    return { receivers: (await listReceivers(store.db)).map(toReceiverView) };
  });

  app.post("/alarm-receivers", { config: { access: "admin" } }, async (req, reply) => {
    const spec = parseInput(ReceiverInput, req.body, "body");
    const now = ctx.now();
    const row = await store.transaction(async (tx) => {
      const r = await insertReceiver(tx, spec, now);
      await auditRequest(req, tx, now, {
        action: "alarm.receiver.create",
        target: `alarm-receiver:${spec.name}`,
        details: { kind: spec.kind },
      });
      return r;
    });
    return reply.status(201).send(toReceiverView(row));
  });

  app.put("/alarm-receivers/:name", { config: { access: "admin" } }, async (req) => {
    const { name } = parseInput(NameParams, req.params, "params");
    const spec = parseInput(ReceiverInput, { ...(req.body as object), name }, "body");
    const now = ctx.now();
    const row = await store.transaction(async (tx) => {
      const r = await replaceReceiver(tx, spec, now);
      await auditRequest(req, tx, now, {
        action: "alarm.receiver.update",
        target: `alarm-receiver:${name}`,
        details: { kind: spec.kind },
      });
      return r;
    });
    return toReceiverView(row);
  });

  app.delete("/alarm-receivers/:name", { config: { access: "admin" } }, async (req, reply) => {
    const { name } = parseInput(NameParams, req.params, "params");
    const now = ctx.now();
    await store.transaction(async (tx) => {
      const users = await rulesUsing(tx, name);
      if (users.length > 0) {
        throw new MsecError(
          "failed_precondition",
          `receiver "${name}" is used by alarm rule(s) ${users.map((id) => `#${id}`).join(", ")}: take it out of them first`,
        );
      }
      await deleteReceiver(tx, name);
      await auditRequest(req, tx, now, {
        action: "alarm.receiver.delete",
        target: `alarm-receiver:${name}`,
      });
    });
    return reply.status(204).send();
  });

  app.post("/alarm-receivers/:name/test", { config: { access: "admin" } }, async (req) => {
    const { name } = parseInput(NameParams, req.params, "params");
    const row = await findReceiver(store.db, name);
    if (!row) throw new MsecError("not_found", `no receiver named "${name}"`);
    const now = ctx.now();
    const minute = new Date(Math.floor(now / MINUTE_MS) * MINUTE_MS).toISOString();
    const message: AlarmMessage = {
      receiver: name,
      service: "Msec.Test",
      minute,
      summary: "Msec.Test: a test message from the msec console; nothing is firing",
      alarms: [
        {
          alarmId: 0,
          ruleId: 0,
          event: "firing",
          service: "Msec.Test",
          attr: "test",
          instance: "*",
          kind: "max",
          severity: "info",
          value: 1,
          message: "a test message from the msec console; nothing is firing",
          firedAt: minute,
          resolvedAt: null,
        },
      ],
    };
    let error: string | null = null;
    try {
      await createNotifier(toReceiverSpec(row), { webhook: { retries: 0 } }).send(message);
    } catch (e) {
      error = errorText(e);
    }
    await auditRequest(req, store.db, now, {
      action: "alarm.receiver.test",
      target: `alarm-receiver:${name}`,
      outcome: error === null ? "ok" : "failed",
      details: error === null ? {} : { error },
    });
    return error === null ? { delivered: true } : { delivered: false, error };
  });

  // Alarms.

  app.get("/alarms", { config: { access: "viewer" } }, async (req) => {
    const q = parseInput(AlarmQuery, req.query, "query");
    return { alarms: (await listAlarms(store.db, q)).map(toAlarmView) };
  });

  app.get("/alarms/:id", { config: { access: "viewer" } }, async (req) => {
    const { id } = parseInput(IdParams, req.params, "params");
    const alarm = await getAlarm(store.db, id);
    return { alarm: toAlarmView(alarm), events: await listAlarmEvents(store.db, id) };
  });

  app.post("/alarms/:id/ack", { config: { access: "operator" } }, async (req) => {
    const { id } = parseInput(IdParams, req.params, "params");
    const body = parseInput(AckRequest, req.body ?? {}, "body");
    const who = principalOf(req);
    const now = ctx.now();
    return store.transaction(async (tx) => {
      const a = await ackAlarm(tx, id, who.username, now, body.comment);
      await auditRequest(req, tx, now, {
        action: "alarm.ack",
        target: `alarm:${id}`,
        details: { ruleId: Number(a.rule_id), ...(body.comment ? { comment: body.comment } : {}) },
      });
      return toAlarmView(a);
    });
  });

  // Silences.

  app.get("/silences", { config: { access: "viewer" } }, async (req) => {
    const q = parseInput(SilenceQuery, req.query, "query");
    const rows = await listSilences(store.db, q.all ? undefined : ctx.now());
    return { silences: rows.map(toSilenceView) };
  });

  app.post("/silences", { config: { access: "operator" } }, async (req, reply) => {
    const body = parseInput(SilenceInput, req.body, "body");
    const until = Date.parse(body.until);
    const now = ctx.now();
    if (until <= now)
      throw new MsecError("invalid_argument", "body.until: must be in the future", {
        field: "body.until",
      });
    const who = principalOf(req);
    const row = await store.transaction(async (tx) => {
      const s = await insertSilence(
        tx,
        { ...body.matcher, until, reason: body.reason, createdBy: who.username },
        now,
      );
      await auditRequest(req, tx, now, {
        action: "alarm.silence.create",
        target: `silence:${s.id}`,
        details: { matcher: body.matcher, until: body.until, reason: body.reason },
      });
      return s;
    });
    return reply.status(201).send(toSilenceView(row));
  });

  app.delete("/silences/:id", { config: { access: "operator" } }, async (req, reply) => {
    const { id } = parseInput(IdParams, req.params, "params");
    const now = ctx.now();
    await store.transaction(async (tx) => {
      await getSilence(tx, id);
      await deleteSilence(tx, id);
      await auditRequest(req, tx, now, { action: "alarm.silence.delete", target: `silence:${id}` });
    });
    return reply.status(204).send();
  });
}
