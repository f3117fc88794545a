/** Receivers in the store. Their config holds secrets; views leave them out. */
import { MsecError } from "../../core/errors.js";
import type { Receiver, ReceiverSpec } from "../../core/schemas/alarm.js";
import type { AlarmReceiverRow, Db } from "../store/schema.js";

function configOf(spec: ReceiverSpec): string {
  switch (spec.kind) {
    case "webhook":
      return JSON.stringify(spec.webhook);
    case "command":
      return JSON.stringify(spec.command);
    case "email":
      return JSON.stringify(spec.email);
  }
}

export function toReceiverSpec(row: AlarmReceiverRow): ReceiverSpec {
  const config = JSON.parse(row.config);
  return { name: row.name, kind: row.kind, [row.kind]: config } as ReceiverSpec;
}

export async function insertReceiver(
  db: Db,
  spec: ReceiverSpec,
  now: number,
): Promise<AlarmReceiverRow> {
  if (await findReceiver(db, spec.name)) {
    throw new MsecError("already_exists", `a receiver named "${spec.name}" already exists`, {
      field: "body.name",
    });
  }
  return db
    .insertInto("alarm_receivers")
    .values({
      name: spec.name,
      kind: spec.kind,
      config: configOf(spec),
      created_at: now,
      updated_at: now,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/**
 * Replace a receiver's settings. A secret (webhook key, SMTP password) left out of the
 * new settings keeps its stored value, so a client that never saw it can edit the rest.
 */
export async function replaceReceiver(
  db: Db,
  spec: ReceiverSpec,
  now: number,
): Promise<AlarmReceiverRow> {
  const old = await findReceiver(db, spec.name);
  if (!old) throw new MsecError("not_found", `no receiver named "${spec.name}"`);
  let merged = spec;
  const prev = toReceiverSpec(old);
  if (spec.kind === "webhook" && prev.kind === "webhook" && spec.webhook.secret === undefined) {
    merged = { ...spec, webhook: { ...spec.webhook, secret: prev.webhook.secret } };
  }
  if (spec.kind === "email" && prev.kind === "email" && spec.email.smtp.password === undefined) {
    merged = {
      ...spec,
      email: { ...spec.email, smtp: { ...spec.email.smtp, password: prev.email.smtp.password } },
    };
  }
  return db
    .updateTable("alarm_receivers")
    .set({ kind: merged.kind, config: configOf(merged), updated_at: now })
    .where("name", "=", spec.name)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function deleteReceiver(db: Db, name: string): Promise<void> {
  const r = await db.deleteFrom("alarm_receivers").where("name", "=", name).executeTakeFirst();
  if (Number(r.numDeletedRows) === 0)
    throw new MsecError("not_found", `no receiver named "${name}"`);
}

export async function findReceiver(db: Db, name: string): Promise<AlarmReceiverRow | undefined> {
  return db.selectFrom("alarm_receivers").selectAll().where("name", "=", name).executeTakeFirst();
}

export async function listReceivers(db: Db): Promise<AlarmReceiverRow[]> {
  return db.selectFrom("alarm_receivers").selectAll().orderBy("name").execute();
}

/** Receivers by name, for sending. */
export async function receiverMap(db: Db): Promise<Map<string, ReceiverSpec>> {
  return new Map((await listReceivers(db)).map((r) => [r.name, toReceiverSpec(r)]));
}

/** Names that are not receivers, for a clear 400 on a rule that names them. */
export async function unknownReceivers(db: Db, names: readonly string[]): Promise<string[]> {
  if (names.length === 0) return [];
  const rows = await db
    .selectFrom("alarm_receivers")
    .select("name")
    .where("name", "in", [...names])
    .execute();
  const known = new Set(rows.map((r) => r.name));
  return names.filter((n) => !known.has(n));
}

/** Ids of the rules that send to a receiver. */
export async function rulesUsing(db: Db, name: string): Promise<number[]> {
  const rows = await db.selectFrom("alarm_rules").select(["id", "spec"]).orderBy("id").execute();
  return rows
    .filter((r) =>
      ((JSON.parse(r.spec) as { receivers?: string[] }).receivers ?? []).includes(name),
    )
    .map((r) => Number(r.id));
}

export function toReceiverView(row: AlarmReceiverRow): Receiver {
  const spec = toReceiverSpec(row);
  const times = {
    createdAt: new Date(Number(row.created_at)).toISOString(),
    updatedAt: new Date(Number(row.updated_at)).toISOString(),
  };
  switch (spec.kind) {
    case "webhook":
      return {
        name: spec.name,
        kind: "webhook",
        webhook: { url: spec.webhook.url, hasSecret: !!spec.webhook.secret },
        ...times,
      };
    case "command":
      return { name: spec.name, kind: "command", command: { argv: spec.command.argv }, ...times };
    case "email": {
      const { password, ...smtp } = spec.email.smtp;
      return {
        name: spec.name,
        kind: "email",
        email: {
          smtp: { ...smtp, hasPassword: !!password },
          from: spec.email.from,
          to: spec.email.to,
        },
        ...times,
      };
    }
  }
}
