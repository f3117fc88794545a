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
  let issue = result.error.issues[0];
  // A bad record key (a label name, say): zod nests the real reason one level down.
  if (issue?.code === "invalid_key" && issue.issues[0]) {
    issue = { ...issue.issues[0], path: [...issue.path, ...issue.issues[0].path] } as typeof issue;
  }
  const path = [part, ...(issue?.path ?? []).map(String)].join(".");
  const missing = issue?.code === "invalid_type" && valueAt(value, issue.path) === undefined;
  const what = missing ? "is required" : issue?.message;
  throw new MsecError("invalid_argument", `${path}: ${what ?? "is invalid"}`, { field: path });
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let v = value;
  for (const key of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}
