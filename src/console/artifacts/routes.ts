import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { MsecError } from "../../core/errors.js";
import {
  ArtifactFileName,
  ArtifactKind,
  ArtifactNote,
  MAX_ARTIFACT_BYTES,
} from "../../core/schemas/artifact.js";
import { ServiceName } from "../../core/schemas/naming.js";
import { auditRequest } from "../audit/request.js";
import type { ConsoleContext } from "../context.js";
import { parseInput } from "../http/validate.js";
import {
  getArtifact,
  getArtifactContent,
  insertArtifact,
  isUniqueViolation,
  listArtifacts,
  toArtifactView,
} from "./repo.js";
import { loadOrCreateSigningKey, type SigningKey } from "./signing.js";

const ServiceParams = z.object({ service: ServiceName });
const KindParams = ServiceParams.extend({ kind: ArtifactKind });
const VersionParams = KindParams.extend({ version: z.coerce.number().int().positive() });
const UploadQuery = z.object({ note: ArtifactNote.optional(), name: ArtifactFileName.optional() });
const ListQuery = z.object({ kind: ArtifactKind.optional() });

/** Tries at a version number when concurrent uploads keep taking it first. */
const UPLOAD_ATTEMPTS = 5;

/** The artifact store: immutable, numbered, signed versions per (service, kind). */
export function artifactRoutes(app: FastifyInstance, ctx: ConsoleContext): void {
  // Made (or loaded) as the console starts; handlers wait for it.
  let keyPromise: Promise<SigningKey> | undefined;
  const signingKey = () => {
    keyPromise ??= loadOrCreateSigningKey(ctx.store.db, ctx.now()).catch((e: unknown) => {
      keyPromise = undefined;
      throw e;
    });
    return keyPromise;
  };
  app.addHook("onReady", async () => {
    await signingKey();
  });

  app.get("/artifacts/signing-key", { config: { access: "viewer", machines: true } }, async () => {
    const key = await signingKey();
    return { algorithm: "ed25519", publicKey: key.publicKeyPem };
  });

  // Raw bytes in, on this route only, up to MAX_ARTIFACT_BYTES.
  void app.register(async (raw) => {
    raw.addContentTypeParser(
      "application/octet-stream",
      { parseAs: "buffer", bodyLimit: MAX_ARTIFACT_BYTES },
      (_req, body, done) => done(null, body),
    );
    raw.post(
      "/artifacts/:service/:kind",
      { config: { access: "operator" }, bodyLimit: MAX_ARTIFACT_BYTES },
      async (req, reply) => {
        const { service, kind } = parseInput(KindParams, req.params, "params");
        const query = parseInput(UploadQuery, req.query, "query");
        const body = req.body;
        if (!Buffer.isBuffer(body) || body.byteLength === 0) {
          throw new MsecError(
            "invalid_argument",
            "body: is required (the artifact's bytes, as application/octet-stream)",
            { field: "body" },
          );
        }
        const key = await signingKey();
        for (let attempt = 1; ; attempt++) {
          const now = ctx.now();
          try {
            const row = await ctx.store.transaction(async (tx) => {
              const meta = await insertArtifact(
                tx,
                key,
                {
                  service,
                  kind,
                  content: body,
                  uploadedBy: req.principal?.username ?? "anonymous",
                  note: query.note ?? "",
                  name: query.name ?? null,
                },
                now,
              );
              await auditRequest(req, tx, now, {
                action: "artifact.upload",
                target: `artifact:${service}/${kind}/${meta.version}`,
                details: { sha256: meta.sha256, size: meta.size, note: meta.note },
              });
              return meta;
            });
            return reply.status(201).send(toArtifactView(row));
          } catch (e) {
            if (!isUniqueViolation(e)) throw e;
            if (attempt >= UPLOAD_ATTEMPTS) {
              throw new MsecError(
                "aborted",
                `concurrent uploads of ${service} ${kind} kept taking the next version; retry`,
              );
            }
          }
        }
      },
    );
  });

  app.get("/artifacts/:service", { config: { access: "viewer" } }, async (req) => {
    const { service } = parseInput(ServiceParams, req.params, "params");
    const { kind } = parseInput(ListQuery, req.query, "query");
    return { artifacts: (await listArtifacts(ctx.store.db, service, kind)).map(toArtifactView) };
  });

  app.get("/artifacts/:service/:kind/:version", { config: { access: "viewer" } }, async (req) => {
    const { service, kind, version } = parseInput(VersionParams, req.params, "params");
    return toArtifactView(await getArtifact(ctx.store.db, service, kind, version));
  });

  app.get(
    "/artifacts/:service/:kind/:version/content",
    { config: { access: "viewer", machines: true } },
    async (req, reply) => {
      const { service, kind, version } = parseInput(VersionParams, req.params, "params");
      const { meta, content } = await getArtifactContent(ctx.store.db, service, kind, version);
      return reply
        .header("content-type", "application/octet-stream")
        .header("x-msec-sha256", meta.sha256)
        .header("x-msec-signature", meta.signature)
        .header("x-msec-version", String(meta.version))
        .send(content);
    },
  );
}
