import { useRef, useState } from "preact/hooks";
import type { SessionInfo } from "../../core/schemas/auth.js";
import { api } from "../api.js";
import { FormErrorNote, InputField, SubmitButton } from "../components/field.js";
import { useAction } from "../components.js";
import { useI18n } from "../i18n/index.js";

export function LoginPage({
  notice,
  onLogin,
}: {
  notice: string | undefined;
  onLogin: (session: SessionInfo) => void;
}) {
  const { t } = useI18n();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const action = useAction();
  const passwordRef = useRef<HTMLInputElement>(null);
  const invalid = { error: action.error, errorId: "login-error" };

  const submit = async (e: Event) => {
    e.preventDefault();
    let session: SessionInfo | undefined;
    const ok = await action.run(async () => {
      session = await api<SessionInfo>("POST", "/auth/login", {
        body: { username, password },
        expect401: true,
      });
    });
    if (ok && session) {
      onLogin(session);
      return;
    }
    setPassword("");
    passwordRef.current?.focus();
  };

  return (
    <main class="login">
      <form class="card login-card" onSubmit={submit} aria-labelledby="login-title">
        <h1 id="login-title">{t.loginTitle}</h1>
        <p class="muted">{t.loginIntro}</p>
        {notice && !action.error && <p class="note">{notice}</p>}
        <InputField
          id="login-username"
          name="username"
          label={t.username}
          autoComplete="username"
          plain
          required
          value={username}
          onValue={setUsername}
          invalid={invalid}
        />
        <InputField
          id="login-password"
          name="password"
          type="password"
          label={t.password}
          autoComplete="current-password"
          required
          inputRef={passwordRef}
          value={password}
          onValue={setPassword}
          invalid={invalid}
        />
        <FormErrorNote error={action.error} id="login-error" />
        <SubmitButton busy={action.busy} busyLabel={t.loggingIn}>
          {t.logIn}
        </SubmitButton>
      </form>
    </main>
  );
}
