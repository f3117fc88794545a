import type { ComponentChildren, Ref } from "preact";
import { ErrorNote, type FormError } from "../components.js";
import { useI18n } from "../i18n/index.js";

/**
 * Form pieces every page shares: a labelled input or select with its hint, the error
 * of a form (the API's message, tied to the input it is about), a submit button that
 * says it is working.
 *
 * ```tsx
 * <InputField id="token-note" label={t.note} value={note} onValue={setNote} maxLength={500} />
 * <SelectField id="rule-kind" label={t.ruleKind} value={kind} onValue={setKind}
 *   options={KINDS.map((k) => ({ value: k, label: kindLabel(t, k) }))} narrow />
 * ```
 */

/** Ties an input to the form's error when the API named it (`body.flap.n` is about `flap`). */
export interface ErrorLink {
  error: FormError | undefined;
  /** The error note's id. */
  errorId: string;
  /** The API's name of this input, when not its `name`. */
  apiName?: string | undefined;
}

interface Common {
  id: string;
  label: ComponentChildren;
  hint?: ComponentChildren | undefined;
  narrow?: boolean | undefined;
  name?: string | undefined;
  invalid?: ErrorLink | undefined;
}

/** True when the error names this field or a part of it. */
export function isAbout(error: FormError | undefined, name: string): boolean {
  const f = error?.field;
  return f !== undefined && (f === name || f.startsWith(`${name}.`));
}

function aria(c: Common) {
  const name = c.invalid?.apiName ?? c.name ?? "";
  const invalid = c.invalid !== undefined && isAbout(c.invalid.error, name);
  const ids = [c.hint ? `${c.id}-hint` : undefined, invalid ? c.invalid?.errorId : undefined]
    .filter(Boolean)
    .join(" ");
  return {
    "aria-invalid": invalid ? (true as const) : undefined,
    "aria-describedby": ids || undefined,
  };
}

function Field({ c, children }: { c: Common; children: ComponentChildren }) {
  return (
    <div class={c.narrow ? "field field-narrow" : "field"}>
      <label htmlFor={c.id}>{c.label}</label>
      {children}
      {c.hint && (
        <small class="hint" id={`${c.id}-hint`}>
          {c.hint}
        </small>
      )}
    </div>
  );
}

export function InputField(
  p: Common & {
    value: string;
    onValue: (value: string) => void;
    type?: "text" | "number" | "password" | "search";
    min?: number;
    max?: number;
    step?: number | "any";
    maxLength?: number;
    placeholder?: string | undefined;
    list?: string | undefined;
    autoComplete?: string;
    required?: boolean;
    /** A name or an identifier: no capitals or spell checking. */
    plain?: boolean;
    inputRef?: Ref<HTMLInputElement>;
  },
) {
  const { type = "text" } = p;
  return (
    <Field c={p}>
      <input
        id={p.id}
        name={p.name}
        // Preact types each input type with its own attributes; these are all valid here.
        type={type as "text"}
        min={p.min}
        max={p.max}
        step={p.step}
        maxLength={p.maxLength}
        placeholder={p.placeholder}
        list={p.list}
        autoComplete={p.autoComplete}
        autoCapitalize={p.plain ? "none" : undefined}
        spellcheck={p.plain ? false : undefined}
        required={p.required}
        ref={p.inputRef}
        value={p.value}
        onInput={(e) => p.onValue(e.currentTarget.value)}
        {...aria(p)}
      />
    </Field>
  );
}

export function SelectField<V extends string>(
  p: Common & {
    value: V;
    onValue: (value: V) => void;
    options: readonly { value: V; label: string }[];
  },
) {
  return (
    <Field c={p}>
      <select
        id={p.id}
        name={p.name}
        value={p.value}
        onChange={(e) => p.onValue(e.currentTarget.value as V)}
        {...aria(p)}
      >
        {p.options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
    </Field>
  );
}

/** A checkbox with its label after it. */
export function CheckField({
  checked,
  onValue,
  children,
}: {
  checked: boolean;
  onValue: (checked: boolean) => void;
  children: ComponentChildren;
}) {
  return (
    <label class="check">
      <input type="checkbox" checked={checked} onChange={(e) => onValue(e.currentTarget.checked)} />{" "}
      {children}
    </label>
  );
}

/** The form's error, if any (its id ties inputs to it). */
export function FormErrorNote({ error, id }: { error: FormError | undefined; id?: string }) {
  return error ? <ErrorNote id={id}>{error.message}</ErrorNote> : null;
}

/** A form's main button: disabled and "Working…" while its change runs. */
export function SubmitButton({
  busy,
  children,
  busyLabel,
  danger,
}: {
  busy: boolean;
  children: ComponentChildren;
  busyLabel?: string;
  danger?: boolean | undefined;
}) {
  const { t } = useI18n();
  return (
    <button type="submit" class={danger ? "danger" : "primary"} disabled={busy}>
      {busy ? (busyLabel ?? t.working) : children}
    </button>
  );
}

/** One choice of a few, as radio buttons under a legend. */
export function RadioGroup<V extends string>({
  legend,
  name,
  value,
  onValue,
  options,
}: {
  legend: string;
  name: string;
  value: V;
  onValue: (value: V) => void;
  options: readonly { value: V; label: string }[];
}) {
  return (
    <fieldset class="plain">
      <legend class="label">{legend}</legend>
      <div class="choices">
        {options.map((o) => (
          <label key={o.value} class="check">
            <input
              type="radio"
              name={name}
              value={o.value}
              checked={value === o.value}
              onChange={() => onValue(o.value)}
            />{" "}
            {o.label}
          </label>
        ))}
      </div>
    </fieldset>
  );
}
