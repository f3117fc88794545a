import type { z } from "zod";
import { MsecError } from "../../core/errors.js";

export type InputPart = "body" | "query" | "params";

/** Validate one part of a request; the error names the first bad field, e.g. `body.role`. */
export function parseInput<S extends z.ZodType>(
  schema: S,
  value: unknown,
  part: InputPart,
): z.output<S> {
  const result = schema.safeParse(value ?? (part === "body" ? undefined : {}));
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = [part, ...(issue?.path ?? []).map(String)].join(".");
  const what =
    issue?.code === "invalid_type" && issue.input === undefined ? "is required" : issue?.message;
  throw new MsecError("invalid_argument", `${path}: ${what ?? "is invalid"}`, { field: path });
}
