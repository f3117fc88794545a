import { z } from "zod";
import { Labels } from "../../core/schemas/naming.js";
import { parseInput } from "../http/validate.js";

const LabelsBody = z.object({ labels: Labels });

/** `body.labels` checked by core's `Labels`, errors named as for any other input. */
export function parseLabels(value: unknown): Labels {
  return parseInput(LabelsBody, { labels: value }, "body").labels;
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
