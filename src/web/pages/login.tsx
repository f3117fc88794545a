import { useRef, useState } from "preact/hooks";
import type { SessionInfo } from "../../core/schemas/auth.js";
import { api } from "../api.js";
import { describedProps, ErrorNote, type FormError, toFormError } from "../components.js";
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
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<FormError>();
  const passwordRef = useRef<HTMLInputElement>(null);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const session = await api<SessionInfo>("POST", "/auth/login", {
        body: { username, password },
        expect401: true,
      });
      onLogin(session);
    } catch (err) {
      setError(toFormError(err, t.networkError));
      setPassword("");
      setBusy(false);
      passwordRef.current?.focus();
    }
  };

  return (
    <main class="login">
      <form class="card login-card" onSubmit={submit} aria-labelledby="login-title">
        <h1 id="login-title">{t.loginTitle}</h1>
        <p class="muted">{t.loginIntro}</p>
        {notice && !error && <p class="note">{notice}</p>}
        <div class="field">
          <label htmlFor="login-username">{t.username}</label>
          <input
            id="login-username"
            name="username"
            autoComplete="username"
            autoCapitalize="none"
            spellcheck={false}
            required
            value={username}
            onInput={(e) => setUsername(e.currentTarget.value)}
            {...describedProps(error, "username", "login-error")}
          />
        </div>
        <div class="field">
          <label htmlFor="login-password">{t.password}</label>
          <input
            id="login-password"
            name="password"
            type="password"
            autoComplete="current-password"
            required
            ref={passwordRef}
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
            {...describedProps(error, "password", "login-error")}
          />
        </div>
        {error && <ErrorNote id="login-error">{error.message}</ErrorNote>}
        <button type="submit" class="primary" disabled={busy}>
          {busy ? t.loggingIn : t.logIn}
        </button>
      </form>
    </main>
  );
}
