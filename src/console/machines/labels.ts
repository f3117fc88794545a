import { MsecError } from "../../core/errors.js";
import { Labels } from "../../core/schemas/naming.js";

/**
 * Validate labels with core's `Labels`. zod reports a bad record key only as "Invalid
 * key in record"; this passes on the key rule's own message (`label names are
 * lower-case, ...`) and names the field, e.g. `body.labels.Zone`.
 */
export function parseLabels(value: unknown, field: string): Labels {
  const r = Labels.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const inner = issue?.code === "invalid_key" ? issue.issues[0]?.message : undefined;
  const path = [field, ...(issue?.path ?? []).map(String)].join(".");
  throw new MsecError("invalid_argument", `${path}: ${inner ?? issue?.message ?? "is invalid"}`, {
    field: path,
  });
}

/** Check `body.labels` before the body's own schema runs, for the clearer message above. */
export function checkBodyLabels(body: unknown): void {
  if (typeof body !== "object" || body === null) return;
  const labels = (body as { labels?: unknown }).labels;
  if (typeof labels === "object" && labels !== null) parseLabels(labels, "body.labels");
}

/** Apply label changes (null removes a label) and return the result. */
export function applyLabelChanges(
  labels: Labels,
  changes: Readonly<Record<string, string | null>>,
): Labels {
  const next: Labels = { ...labels };
  for (const [k, v] of Object.entries(changes)) {
    if (v === null) delete next[k];
    else next[k] = v;
  }
  return next;
}
