import { useEffect, useRef, useState } from "preact/hooks";
import { api } from "../api.js";
import { FormErrorNote, InputField, SubmitButton } from "../components/field.js";
import { PageTitle, useAction } from "../components.js";
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
  const [done, setDone] = useState(false);
  const action = useAction();
  const id = (s: string) => `${idPrefix}-${s}`;
  const invalid = { error: action.error, errorId: id("error") };

  const submit = async (e: Event) => {
    e.preventDefault();
    setDone(false);
    if (next !== repeat) {
      action.fail({ message: t.passwordsDiffer, field: "repeat" });
      return;
    }
    const ok = await action.run(() =>
      api("PUT", `/users/${encodeURIComponent(username)}/password`, {
        body: { password: next, currentPassword: current },
      }),
    );
    if (!ok) return;
    setCurrent("");
    setNext("");
    setRepeat("");
    setDone(true);
    onChanged();
  };

  const input = (
    name: string,
    label: string,
    value: string,
    set: (v: string) => void,
    autoComplete: string,
    hint?: string,
  ) => (
    <InputField
      id={id(name)}
      name={name}
      type="password"
      label={label}
      hint={hint}
      autoComplete={autoComplete}
      required
      value={value}
      onValue={set}
      invalid={invalid}
    />
  );

  return (
    <form onSubmit={submit}>
      {input("currentPassword", t.currentPassword, current, setCurrent, "current-password")}
      {input("password", t.newPassword, next, setNext, "new-password", t.passwordHint)}
      {input("repeat", t.repeatPassword, repeat, setRepeat, "new-password")}
      <FormErrorNote error={action.error} id={id("error")} />
      {done && (
        <p class="note note-ok" role="status">
          {t.passwordChanged}
        </p>
      )}
      <div class="actions">
        <SubmitButton busy={action.busy} busyLabel={t.saving}>
          {t.changePassword}
        </SubmitButton>
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
