import type { FastifyError, FastifyInstance } from "fastify";
import { isMsecError, MsecError } from "../../core/errors.js";

/** Every failure leaves the API as `{"error":{"code","message","field"?}}` with a fitting status. */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | MsecError, req, reply) => {
    const e = toMsecError(err);
    if (e.code === "internal") req.log.error({ err }, "request failed");
    if (e.headers) reply.headers(e.headers);
    return reply.status(e.status).send(e.toJSON());
  });
  app.setNotFoundHandler((req, reply) => {
    const e = new MsecError("not_found", `no route ${req.method} ${req.url.split("?")[0]}`);
    return reply.status(e.status).send(e.toJSON());
  });
}

function toMsecError(err: unknown): MsecError {
  if (isMsecError(err)) return err;
  const f = err as Partial<FastifyError>;
  switch (f.code) {
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return new MsecError("unsupported_media_type", "send the body as application/json", {
        field: "body",
      });
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return new MsecError("payload_too_large", "request body is too large", { field: "body" });
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return new MsecError("invalid_argument", "body: empty JSON body", { field: "body" });
  }
  // A unique index caught a race that the handler's own check could not see.
  const dbCode = (err as { code?: unknown }).code;
  if (dbCode === "23505" || dbCode === "SQLITE_CONSTRAINT_UNIQUE") {
    return new MsecError(
      "already_exists",
      "that name is taken (it was created at the same moment)",
    );
  }
  if (f.statusCode === 400 || err instanceof SyntaxError) {
    return new MsecError("invalid_argument", `body: malformed JSON (${f.message})`, {
      field: "body",
    });
  }
  if (typeof f.statusCode === "number" && f.statusCode < 500) {
    return new MsecError("invalid_argument", f.message ?? "bad request");
  }
  return new MsecError("internal", "internal error; the console log has the details", {
    cause: err,
  });
}
