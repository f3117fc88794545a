import { sha256Hex } from "../../core/digest.js";
import { MsecError } from "../../core/errors.js";
import type { ArtifactKind, ArtifactView } from "../../core/schemas/artifact.js";
import type { ArtifactRow, Db } from "../store/schema.js";
import { type SigningKey, signArtifact } from "./signing.js";

export interface NewArtifact {
  service: string;
  kind: ArtifactKind;
  content: Uint8Array;
  uploadedBy: string;
  note: string;
  name: string | null;
}

/** An artifact's metadata row (everything but the bytes). */
export type ArtifactMeta = Omit<ArtifactRow, "content">;

const META = [
  "id",
  "service",
  "kind",
  "version",
  "sha256",
  "size",
  "signature",
  "uploaded_by",
  "uploaded_at",
  "note",
  "name",
] as const;

/**
 * Store a new version: the next number for (service, kind), given out inside the
 * caller's transaction. A concurrent upload that took the same number fails on the
 * unique constraint; the caller retries the whole transaction.
 */
export async function insertArtifact(
  db: Db,
  key: SigningKey,
  a: NewArtifact,
  now: number,
): Promise<ArtifactMeta> {
  const last = await db
    .selectFrom("artifacts")
    .select((eb) => eb.fn.max("version").as("v"))
    .where("service", "=", a.service)
    .where("kind", "=", a.kind)
    .executeTakeFirst();
  const version = Number(last?.v ?? 0) + 1;
  const sha256 = sha256Hex(a.content);
  const row = {
    service: a.service,
    kind: a.kind,
    version,
    sha256,
    size: a.content.byteLength,
    signature: signArtifact(key, sha256),
    uploaded_by: a.uploadedBy,
    uploaded_at: now,
    note: a.note,
    name: a.name,
  };
  const inserted = await db
    .insertInto("artifacts")
    .values({
      ...row,
      content: Buffer.from(a.content.buffer, a.content.byteOffset, a.content.byteLength),
    })
    .returning("id")
    .executeTakeFirstOrThrow();
  return { id: Number(inserted.id), ...row };
}

export async function listArtifacts(
  db: Db,
  service: string,
  kind?: ArtifactKind,
): Promise<ArtifactMeta[]> {
  let q = db.selectFrom("artifacts").select(META).where("service", "=", service);
  if (kind) q = q.where("kind", "=", kind);
  return q.orderBy("uploaded_at", "desc").orderBy("id", "desc").execute();
}

export async function getArtifact(
  db: Db,
  service: string,
  kind: ArtifactKind,
  version: number,
): Promise<ArtifactMeta> {
  const row = await db
    .selectFrom("artifacts")
    .select(META)
    .where("service", "=", service)
    .where("kind", "=", kind)
    .where("version", "=", version)
    .executeTakeFirst();
  if (!row) throw notFound(service, kind, version);
  return row;
}

export async function getArtifactContent(
  db: Db,
  service: string,
  kind: ArtifactKind,
  version: number,
): Promise<{ meta: ArtifactMeta; content: Buffer }> {
  const row = await db
    .selectFrom("artifacts")
    .selectAll()
    .where("service", "=", service)
    .where("kind", "=", kind)
    .where("version", "=", version)
    .executeTakeFirst();
  if (!row) throw notFound(service, kind, version);
  const { content, ...meta } = row;
  return { meta, content: Buffer.from(content) };
}

function notFound(service: string, kind: string, version: number): MsecError {
  return new MsecError("not_found", `no ${kind} version ${version} of ${service}`);
}

export function toArtifactView(r: ArtifactMeta): ArtifactView {
  return {
    service: r.service,
    kind: r.kind as ArtifactKind,
    version: Number(r.version),
    sha256: r.sha256,
    size: Number(r.size),
    signature: r.signature,
    uploadedBy: r.uploaded_by,
    uploadedAt: new Date(Number(r.uploaded_at)).toISOString(),
    note: r.note,
    name: r.name,
  };
}

/** A unique-constraint violation on either engine: two uploads raced for one number. */
export function isUniqueViolation(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  return code === "23505" || code === "SQLITE_CONSTRAINT_UNIQUE";
}
