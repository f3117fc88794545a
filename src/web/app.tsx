import type { ComponentChildren } from "preact";
import { useCallback, useEffect, useMemo, useState } from "preact/hooks";
import type { SessionInfo } from "../core/schemas/auth.js";
import { ApiError, api, errorText, setCsrfToken, setUnauthenticatedHandler } from "./api.js";
import type { Messages } from "./i18n/en.js";
import {
  fmt,
  I18nContext,
  initialLang,
  LANGUAGES,
  type Lang,
  messagesFor,
  roleLabel,
  saveLang,
  useI18n,
} from "./i18n/index.js";
import { AuditPage } from "./pages/audit.js";
import { HomePage } from "./pages/home.js";
import { LoginPage } from "./pages/login.js";
import { PasswordPage, PasswordPrompt } from "./pages/password.js";
import { UsersPage } from "./pages/users.js";
import { href, navigate, type Route, useRoute } from "./router.js";

type State =
  | { kind: "loading" }
  | { kind: "error"; error: unknown }
  | { kind: "anonymous"; notice?: keyof Messages }
  | { kind: "signedIn"; session: SessionInfo; promptDismissed: boolean };

export function App() {
  const [lang, setLangState] = useState<Lang>(initialLang);
  const i18n = useMemo(
    () => ({
      lang,
      t: messagesFor(lang),
      setLang: (l: Lang) => {
        saveLang(l);
        setLangState(l);
      },
    }),
    [lang],
  );
  useEffect(() => {
    document.documentElement.lang = lang;
    document.title = i18n.t.appName;
  }, [lang, i18n]);

  const [state, setState] = useState<State>({ kind: "loading" });

  const signIn = useCallback((session: SessionInfo) => {
    setCsrfToken(session.csrfToken);
    setState({ kind: "signedIn", session, promptDismissed: false });
  }, []);

  const probe = useCallback(() => {
    setState({ kind: "loading" });
    api<SessionInfo>("GET", "/auth/session", { expect401: true }).then(signIn, (error: unknown) =>
      setState(
        error instanceof ApiError && error.status === 401
          ? { kind: "anonymous" }
          : { kind: "error", error },
      ),
    );
  }, [signIn]);

  useEffect(() => {
    setUnauthenticatedHandler(() => {
      setCsrfToken(undefined);
      setState({ kind: "anonymous", notice: "sessionEnded" });
    });
    probe();
    return () => setUnauthenticatedHandler(undefined);
  }, [probe]);

  const signOut = useCallback(async () => {
    try {
      await api("POST", "/auth/logout");
    } catch {
      // Already gone or unreachable: either way this tab forgets the session.
    }
    setCsrfToken(undefined);
    setState({ kind: "anonymous" });
    navigate("home");
  }, []);

  return (
    <I18nContext.Provider value={i18n}>
      {state.kind === "loading" && <Splash />}
      {state.kind === "error" && <StartError error={state.error} onRetry={probe} />}
      {state.kind === "anonymous" && (
        <>
          <header class="topbar">
            <span class="brand">{i18n.t.appName}</span>
            <span class="spacer" />
            <LanguageSelect />
          </header>
          <LoginPage notice={state.notice && i18n.t[state.notice]} onLogin={signIn} />
        </>
      )}
      {state.kind === "signedIn" && (
        <SignedIn
          session={state.session}
          showPrompt={state.session.mustChangePassword && !state.promptDismissed}
          onPasswordChanged={() =>
            setState({
              kind: "signedIn",
              session: { ...state.session, mustChangePassword: false },
              promptDismissed: true,
            })
          }
          onDismissPrompt={() => setState({ ...state, promptDismissed: true })}
          onSignOut={signOut}
        />
      )}
    </I18nContext.Provider>
  );
}

function SignedIn({
  session,
  showPrompt,
  onPasswordChanged,
  onDismissPrompt,
  onSignOut,
}: {
  session: SessionInfo;
  showPrompt: boolean;
  onPasswordChanged: () => void;
  onDismissPrompt: () => void;
  onSignOut: () => void;
}) {
  const { t } = useI18n();
  const route = useRoute();
  const isAdmin = session.role === "admin";
  const links: [Exclude<Route, "unknown">, string][] = [["home", t.navHome]];
  if (isAdmin) links.push(["users", t.navUsers], ["audit", t.navAudit]);
  links.push(["password", t.navPassword]);

  let page: ComponentChildren;
  if (route === "home") page = <HomePage username={session.username} />;
  else if (route === "password")
    page = <PasswordPage username={session.username} onChanged={onPasswordChanged} />;
  else if ((route === "users" || route === "audit") && !isAdmin)
    page = <Missing message={t.adminOnly} />;
  else if (route === "users") page = <UsersPage />;
  else if (route === "audit") page = <AuditPage />;
  else page = <Missing message={t.notFound} />;

  return (
    <>
      <header class="topbar">
        <a class="brand" href={href("home")}>
          {t.appName}
        </a>
        <nav aria-label={t.mainNav}>
          {links.map(([r, label]) => (
            <a key={r} href={href(r)} aria-current={route === r ? "page" : undefined}>
              {label}
            </a>
          ))}
        </nav>
        <span class="spacer" />
        <span class="who" data-testid="who">
          {fmt(t.signedInAs, { user: session.username, role: roleLabel(t, session.role) })}
        </span>
        <LanguageSelect />
        <button type="button" onClick={onSignOut}>
          {t.logOut}
        </button>
      </header>
      <main class="page" key={route}>
        {page}
      </main>
      {showPrompt && (
        <PasswordPrompt
          username={session.username}
          onChanged={onPasswordChanged}
          onDismiss={onDismissPrompt}
        />
      )}
    </>
  );
}

function LanguageSelect() {
  const { t, lang, setLang } = useI18n();
  return (
    <label class="lang">
      <span class="visually-hidden">{t.language}</span>
      <select
        value={lang}
        onChange={(e) => {
          const next = LANGUAGES.find((l) => l.code === e.currentTarget.value);
          if (next) setLang(next.code);
        }}
      >
        {LANGUAGES.map((l) => (
          <option key={l.code} value={l.code} lang={l.code}>
            {l.label}
          </option>
        ))}
      </select>
    </label>
  );
}

function Splash() {
  const { t } = useI18n();
  return (
    <main class="login">
      <p class="muted">{t.loading}</p>
    </main>
  );
}

function StartError({ error, onRetry }: { error: unknown; onRetry: () => void }) {
  const { t } = useI18n();
  return (
    <main class="login">
      <div class="card login-card">
        <p class="note note-error" role="alert">
          {errorText(error, t.networkError)}
        </p>
        <button type="button" onClick={onRetry}>
          {t.retry}
        </button>
      </div>
    </main>
  );
}

function Missing({ message }: { message: string }) {
  const { t } = useI18n();
  return (
    <div class="card">
      <p>{message}</p>
      <a href={href("home")}>{t.backHome}</a>
    </div>
  );
}
