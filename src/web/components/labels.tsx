import { InputField } from "./field.js";

/**
 * Labels as people type them (`zone=sz, rack=r4`) and as the API holds them
 * (`{ zone: "sz", rack: "r4" }`), for machines, join tokens and release targets.
 */

/** `{ zone: "sz", rack: "r4" }` → `zone=sz, rack=r4` */
export function labelsText(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(", ");
}

/** `zone=sz, rack=r4` (commas, spaces or new lines between) → `{ zone: "sz", rack: "r4" }`. */
export function parseLabels(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(/[,\s]+/)) {
    if (part === "") continue;
    const i = part.indexOf("=");
    if (i < 0) out[part] = "";
    else out[part.slice(0, i)] = part.slice(i + 1);
  }
  return out;
}

/** A labels input: `name=value` pairs, with a hint that says how to write them. */
export function LabelsField({
  id,
  label,
  value,
  onValue,
  hint,
  placeholder = "zone=sz, rack=r4",
}: {
  id: string;
  label: string;
  value: string;
  onValue: (v: string) => void;
  hint: string;
  placeholder?: string;
}) {
  return (
    <InputField
      id={id}
      label={label}
      value={value}
      onValue={onValue}
      placeholder={placeholder}
      hint={hint}
      plain
    />
  );
}

/** Labels as a row of `name=value` chips (`skip`: names shown elsewhere, like `version`). */
export function LabelChips({
  labels,
  skip = [],
}: {
  labels: Record<string, string>;
  skip?: readonly string[];
}) {
  const entries = Object.entries(labels).filter(([k]) => !skip.includes(k));
  if (entries.length === 0) return <span class="muted">–</span>;
  return (
    <ul class="chips">
      {entries.map(([k, v]) => (
        <li key={k}>
          <code>
            {k}={v}
          </code>
        </li>
      ))}
    </ul>
  );
}
