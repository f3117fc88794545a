import { z } from "zod";
import { MsecError } from "../../core/errors.js";
import {
  Deployment,
  JOIN_TOKEN_PREFIX,
  type JoinTokenView,
  MACHINE_CREDENTIAL_PREFIX,
  type MachineView,
  ServiceReport,
  type StateReport,
} from "../../core/schemas/machine.js";
import { Labels } from "../../core/schemas/naming.js";
import { randomToken, sha256 } from "../auth/secrets.js";
import type { Db, JoinTokenRow, MachineRow } from "../store/schema.js";

/**
 * Enrolled machines and the one-time join tokens they enroll with. Secrets (join
 * tokens, machine credentials) are stored as sha256 only.
 */

/** A machine as the console's code sees it (the credential hash stays in the store). */
export interface Machine {
  id: number;
  name: string;
  hostname: string;
  agentVersion: string;
  labels: Labels;
  /** Epoch ms. */
  enrolledAt: number;
  lastSeenAt: number | null;
  desiredRevision: number;
  appliedRevision: number;
  /** The agent's last report. */
  services: ServiceReport[];
}

/** What the release executor reads to decide its gates. */
export interface MachineObservation {
  id: number;
  name: string;
  appliedRevision: number;
  desiredRevision: number;
  lastSeenAt: number | null;
  services: ServiceReport[];
}

/** A machine counts as online when its agent reported within this window. */
export const ONLINE_WINDOW_MS = 30_000;

const MACHINE_COLUMNS = [
  "id",
  "name",
  "hostname",
  "agent_version",
  "labels",
  "enrolled_at",
  "last_seen_at",
  "desired_revision",
  "applied_revision",
  "report",
] as const;

const Reports = z.array(ServiceReport);

function toMachine(r: Omit<MachineRow, "credential_hash" | "service_credential_hash">): Machine {
  // Written by this code only, but a bad row must not take every listing down with it.
  const labels = Labels.safeParse(JSON.parse(r.labels));
  const services = Reports.safeParse(JSON.parse(r.report));
  return {
    id: Number(r.id),
    name: r.name,
    hostname: r.hostname,
    agentVersion: r.agent_version,
    labels: labels.success ? labels.data : {},
    enrolledAt: Number(r.enrolled_at),
    lastSeenAt: r.last_seen_at === null ? null : Number(r.last_seen_at),
    desiredRevision: Number(r.desired_revision),
    appliedRevision: Number(r.applied_revision),
    services: services.success ? services.data : [],
  };
}

// ---- join tokens ----

export async function createJoinToken(
  db: Db,
  t: { createdBy: string; labels: Labels; ttlSeconds: number; note: string },
  now: number,
): Promise<{ row: JoinTokenRow; secret: string }> {
  const secret = randomToken(JOIN_TOKEN_PREFIX);
  const row = await db
    .insertInto("join_tokens")
    .values({
      token_hash: sha256(secret),
      created_by: t.createdBy,
      created_at: now,
      expires_at: now + t.ttlSeconds * 1000,
      used_at: null,
      used_by: null,
      labels: JSON.stringify(t.labels),
      note: t.note,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return { row, secret };
}

/** Newest first. */
export async function listJoinTokens(db: Db): Promise<JoinTokenRow[]> {
  return db.selectFrom("join_tokens").selectAll().orderBy("id", "desc").execute();
}

/** Revoke a token nobody has used yet; a used one stays as the record of the enrollment. */
export async function deleteJoinToken(db: Db, id: number): Promise<JoinTokenRow> {
  const row = await db
    .selectFrom("join_tokens")
    .selectAll()
    .where("id", "=", id)
    .executeTakeFirst();
  if (!row) throw new MsecError("not_found", `no join token with id ${id}`);
  if (row.used_at !== null) {
    throw new MsecError(
      "failed_precondition",
      `join token ${id} was already used by machine ${row.used_by}; remove the machine with \`msec machine rm ${row.used_by}\` instead`,
    );
  }
  await db.deleteFrom("join_tokens").where("id", "=", id).execute();
  return row;
}

export function toJoinTokenView(r: JoinTokenRow): JoinTokenView {
  const iso = (t: number | null) => (t === null ? null : new Date(Number(t)).toISOString());
  const labels = Labels.safeParse(JSON.parse(r.labels));
  return {
    id: Number(r.id),
    createdBy: r.created_by,
    createdAt: new Date(Number(r.created_at)).toISOString(),
    expiresAt: new Date(Number(r.expires_at)).toISOString(),
    usedAt: iso(r.used_at),
    usedBy: r.used_by,
    labels: labels.success ? labels.data : {},
    note: r.note,
  };
}

// ---- enrollment ----

export interface Enrollment {
  joinToken: string;
  name: string;
  hostname: string;
  agentVersion: string;
  labels: Labels;
}

/**
 * Spend a join token and create the machine, inside the caller's transaction. The
 * token is marked used by a conditional update, so of two enrollments racing with one
 * token exactly one changes the row; the other fails (and its transaction rolls back).
 */
export async function enrollMachine(
  db: Db,
  e: Enrollment,
  now: number,
): Promise<{ machine: Machine; credential: string; tokenId: number }> {
  const token = await db
    .selectFrom("join_tokens")
    .selectAll()
    .where("token_hash", "=", sha256(e.joinToken))
    .executeTakeFirst();
  if (!token) {
    throw new MsecError(
      "unauthenticated",
      "unknown join token (was it copied whole? create one with `msec machine token`)",
    );
  }
  if (token.used_at !== null) {
    throw new MsecError(
      "unauthenticated",
      "this join token was already used; a join token works once: create a new one with `msec machine token`",
    );
  }
  if (Number(token.expires_at) <= now) {
    throw new MsecError(
      "unauthenticated",
      `this join token expired at ${new Date(Number(token.expires_at)).toISOString()}; create a new one with \`msec machine token\``,
    );
  }
  const clash = await db
    .selectFrom("machines")
    .select("id")
    .where("name", "=", e.name)
    .executeTakeFirst();
  if (clash) throw nameTaken(e.name);

  const spent = await db
    .updateTable("join_tokens")
    .set({ used_at: now, used_by: e.name })
    .where("id", "=", token.id)
    .where("used_at", "is", null)
    .executeTakeFirst();
  if (Number(spent.numUpdatedRows) !== 1) {
    throw new MsecError(
      "unauthenticated",
      "this join token was just used by another enrollment; a join token works once",
    );
  }

  // The token's labels win: an admin's choice outranks what the machine says of itself.
  const tokenLabels = Labels.safeParse(JSON.parse(token.labels));
  const labels = { ...e.labels, ...(tokenLabels.success ? tokenLabels.data : {}) };
  const credential = randomToken(MACHINE_CREDENTIAL_PREFIX);
  let row: MachineRow;
  try {
    row = await db
      .insertInto("machines")
      .values({
        name: e.name,
        credential_hash: sha256(credential),
        hostname: e.hostname,
        agent_version: e.agentVersion,
        labels: JSON.stringify(labels),
        enrolled_at: now,
        last_seen_at: now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  } catch (err) {
    if (isUniqueViolation(err)) throw nameTaken(e.name);
    throw err;
  }
  return { machine: toMachine(row), credential, tokenId: Number(token.id) };
}

function nameTaken(name: string): MsecError {
  return new MsecError(
    "already_exists",
    `a machine named ${name} is already enrolled; remove it first with \`msec machine rm ${name}\`, or enroll under another --name`,
    { field: "body.name" },
  );
}

function isUniqueViolation(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  return code === "23505" || code === "SQLITE_CONSTRAINT_UNIQUE";
}

// ---- machines ----

/** Every machine, by name. */
export async function listMachines(db: Db): Promise<Machine[]> {
  const rows = await db.selectFrom("machines").select(MACHINE_COLUMNS).orderBy("name").execute();
  return rows.map(toMachine);
}

export async function getMachineByName(db: Db, name: string): Promise<Machine> {
  const row = await db
    .selectFrom("machines")
    .select(MACHINE_COLUMNS)
    .where("name", "=", name)
    .executeTakeFirst();
  if (!row) throw new MsecError("not_found", `no machine named ${name}`);
  return toMachine(row);
}

export async function getMachineById(db: Db, id: number): Promise<Machine | undefined> {
  const row = await db
    .selectFrom("machines")
    .select(MACHINE_COLUMNS)
    .where("id", "=", id)
    .executeTakeFirst();
  return row ? toMachine(row) : undefined;
}

/** Machines carrying all of these labels with these values (every machine for `{}`), by name. */
export async function machinesWithLabels(db: Db, labels: Labels): Promise<Machine[]> {
  // Labels are JSON text on both engines: filter here rather than in engine-specific SQL.
  const wanted = Object.entries(labels);
  return (await listMachines(db)).filter((m) => wanted.every(([k, v]) => m.labels[k] === v));
}

/** Revisions, last report and last contact of these machines (unknown ids are left out). */
export async function machineObservation(
  db: Db,
  ids: readonly number[],
): Promise<MachineObservation[]> {
  if (ids.length === 0) return [];
  const rows = await db
    .selectFrom("machines")
    .select(MACHINE_COLUMNS)
    .where("id", "in", [...ids])
    .orderBy("name")
    .execute();
  return rows.map((r) => {
    const m = toMachine(r);
    return {
      id: m.id,
      name: m.name,
      appliedRevision: m.appliedRevision,
      desiredRevision: m.desiredRevision,
      lastSeenAt: m.lastSeenAt,
      services: m.services,
    };
  });
}

/** The machine's desired revision, or undefined once it was removed. */
export async function desiredRevisionOf(db: Db, id: number): Promise<number | undefined> {
  const row = await db
    .selectFrom("machines")
    .select("desired_revision")
    .where("id", "=", id)
    .executeTakeFirst();
  return row ? Number(row.desired_revision) : undefined;
}

/** Store an agent's report; it is also the agent's heartbeat. */
export async function recordStateReport(
  db: Db,
  id: number,
  report: StateReport,
  now: number,
): Promise<void> {
  await db
    .updateTable("machines")
    .set({
      applied_revision: report.appliedRevision,
      report: JSON.stringify(report.services),
      hostname: report.hostname,
      agent_version: report.agentVersion,
      last_seen_at: now,
    })
    .where("id", "=", id)
    .execute();
}

/** Replace a machine's labels (the caller merged and validated them). */
export async function setMachineLabels(db: Db, id: number, labels: Labels): Promise<void> {
  await db
    .updateTable("machines")
    .set({ labels: JSON.stringify(labels) })
    .where("id", "=", id)
    .execute();
}

/** Remove a machine, and with it its deployments and its credential. */
export async function deleteMachine(db: Db, id: number): Promise<void> {
  // The foreign key cascades too; deleting first does not depend on the engine's setting.
  await db.deleteFrom("deployments").where("machine_id", "=", id).execute();
  await db.deleteFrom("machines").where("id", "=", id).execute();
}

/** Deployments of many machines in one query, per machine id. */
export async function deploymentsOf(
  db: Db,
  ids: readonly number[],
): Promise<Map<number, Deployment[]>> {
  const out = new Map<number, Deployment[]>();
  if (ids.length === 0) return out;
  const rows = await db
    .selectFrom("deployments")
    .select(["machine_id", "spec"])
    .where("machine_id", "in", [...ids])
    .orderBy("machine_id")
    .orderBy("service")
    .execute();
  for (const r of rows) {
    const id = Number(r.machine_id);
    const list = out.get(id) ?? [];
    list.push(Deployment.parse(JSON.parse(r.spec)));
    out.set(id, list);
  }
  return out;
}

export function toMachineView(m: Machine, deployments: Deployment[], now: number): MachineView {
  return {
    name: m.name,
    hostname: m.hostname,
    labels: m.labels,
    agentVersion: m.agentVersion,
    enrolledAt: new Date(m.enrolledAt).toISOString(),
    lastSeenAt: m.lastSeenAt === null ? null : new Date(m.lastSeenAt).toISOString(),
    online: m.lastSeenAt !== null && now - m.lastSeenAt <= ONLINE_WINDOW_MS,
    desiredRevision: m.desiredRevision,
    appliedRevision: m.appliedRevision,
    deployments,
    services: m.services,
  };
}
