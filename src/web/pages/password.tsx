import { useEffect, useRef, useState } from "preact/hooks";
import { api } from "../api.js";
import {
  describedProps,
  ErrorNote,
  type FormError,
  PageTitle,
  toFormError,
} from "../components.js";
import { useI18n } from "../i18n/index.js";

/** Change one's own password: PUT /users/{me}/password with the current one. */
function ChangePasswordForm({
  username,
  idPrefix,
  onChanged,
  onLater,
}: {
  username: string;
  idPrefix: string;
  onChanged: () => void;
  onLater?: () => void;
}) {
  const { t } = useI18n();
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [repeat, setRepeat] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<FormError>();
  const [done, setDone] = useState(false);
  const id = (s: string) => `${idPrefix}-${s}`;
  const errorId = id("error");

  const submit = async (e: Event) => {
    e.preventDefault();
    setDone(false);
    if (next !== repeat) {
      setError({ message: t.passwordsDiffer, field: "repeat" });
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      await api("PUT", `/users/${encodeURIComponent(username)}/password`, {
        body: { password: next, currentPassword: current },
      });
      setCurrent("");
      setNext("");
      setRepeat("");
      setDone(true);
      onChanged();
    } catch (err) {
      setError(toFormError(err, t.networkError));
    } finally {
      setBusy(false);
    }
  };

  const input = (
    name: string,
    label: string,
    value: string,
    set: (v: string) => void,
    autoComplete: string,
    hint?: string,
  ) => (
    <div class="field">
      <label htmlFor={id(name)}>{label}</label>
      <input
        id={id(name)}
        name={name}
        type="password"
        autoComplete={autoComplete}
        required
        value={value}
        onInput={(e) => set(e.currentTarget.value)}
        {...describedProps(error, name, errorId, hint && id(`${name}-hint`))}
      />
      {hint && (
        <small class="hint" id={id(`${name}-hint`)}>
          {hint}
        </small>
      )}
    </div>
  );

  return (
    <form onSubmit={submit}>
      {input("currentPassword", t.currentPassword, current, setCurrent, "current-password")}
      {input("password", t.newPassword, next, setNext, "new-password", t.passwordHint)}
      {input("repeat", t.repeatPassword, repeat, setRepeat, "new-password")}
      {error && <ErrorNote id={errorId}>{error.message}</ErrorNote>}
      {done && (
        <p class="note note-ok" role="status">
          {t.passwordChanged}
        </p>
      )}
      <div class="actions">
        <button type="submit" class="primary" disabled={busy}>
          {busy ? t.saving : t.changePassword}
        </button>
        {onLater && (
          <button type="button" onClick={onLater}>
            {t.later}
          </button>
        )}
      </div>
    </form>
  );
}

export function PasswordPage({ username, onChanged }: { username: string; onChanged: () => void }) {
  const { t } = useI18n();
  return (
    <>
      <PageTitle>{t.changePasswordTitle}</PageTitle>
      <div class="card form-card narrow">
        <ChangePasswordForm username={username} idPrefix="pw" onChanged={onChanged} />
      </div>
    </>
  );
}

/** Shown after login when the password was set by someone else; "Later" or Escape dismiss it. */
export function PasswordPrompt({
  username,
  onChanged,
  onDismiss,
}: {
  username: string;
  onChanged: () => void;
  onDismiss: () => void;
}) {
  const { t } = useI18n();
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
    return () => dialog?.close();
  }, []);
  return (
    <dialog
      ref={ref}
      class="card dialog"
      aria-labelledby="prompt-title"
      onCancel={(e) => {
        e.preventDefault();
        onDismiss();
      }}
    >
      <h2 id="prompt-title">{t.changePasswordTitle}</h2>
      <p class="muted">{t.mustChangeText}</p>
      <ChangePasswordForm
        username={username}
        idPrefix="prompt"
        onChanged={onChanged}
        onLater={onDismiss}
      />
    </dialog>
  );
}
