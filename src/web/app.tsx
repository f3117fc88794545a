import type { ComponentChildren } from "preact";
import { useCallback, useEffect, useMemo, useState } from "preact/hooks";
import type { SessionInfo } from "../core/schemas/auth.js";
import { ApiError, api, errorText, setCsrfToken, setUnauthenticatedHandler } from "./api.js";
import type { Messages } from "./i18n/en.js";
import {
  fmt,
  formatsFor,
  I18nContext,
  LANGUAGES,
  type Lang,
  loadMessages,
  messagesFor,
  roleLabel,
  saveLang,
  startLang,
  useI18n,
} from "./i18n/index.js";
import { lazy } from "./lazy.js";
import { AuditPage } from "./pages/audit.js";
import { HomePage } from "./pages/home.js";
import { LoginPage } from "./pages/login.js";
import { PasswordPage, PasswordPrompt } from "./pages/password.js";
import { ServicesPage } from "./pages/services.js";
import { UsersPage } from "./pages/users.js";
import {
  navigate,
  type Route,
  type Section,
  sectionHref,
  sectionOf,
  to,
  useRoute,
} from "./router.js";
import { SessionContext } from "./session.js";

// Pages past the first one are chunks of their own, fetched the first time they open (the
// monitor's brings uPlot), so logging in and the overview load only what they need.
const MonitorPage = lazy(() => import("./pages/monitor.js").then((m) => m.MonitorPage));
const ServicePage = lazy(() => import("./pages/service.js").then((m) => m.ServicePage));
const AlarmsPage = lazy(() => import("./pages/alarms.js").then((m) => m.AlarmsPage));
const RulePage = lazy(() => import("./pages/rule.js").then((m) => m.RulePage));
const MachinesPage = lazy(() => import("./pages/machines.js").then((m) => m.MachinesPage));
const ReleasesPage = lazy(() => import("./pages/releases.js").then((m) => m.ReleasesPage));
const ReleasePage = lazy(() => import("./pages/release.js").then((m) => m.ReleasePage));
const ReleaseWizard = lazy(() => import("./pages/release-wizard.js").then((m) => m.ReleaseWizard));

type State =
  | { kind: "loading" }
  | { kind: "error"; error: unknown }
  | { kind: "anonymous"; notice?: keyof Messages }
  | { kind: "signedIn"; session: SessionInfo; promptDismissed: boolean };

export function App() {
  const [lang, setLangState] = useState<Lang>(startLang);
  const i18n = useMemo(
    () => ({
      lang,
      t: messagesFor(lang),
      f: formatsFor(lang),
      setLang: (l: Lang) => {
        saveLang(l);
        // Switch once the catalog is here; if it cannot be fetched, stay as we are.
        loadMessages(l).then(
          () => setLangState(l),
          () => {},
        );
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
    navigate(to.home());
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
  const links: [Section, string][] = [
    ["home", t.navHome],
    ["services", t.navServices],
    ["monitor", t.navMonitor],
    ["alarms", t.navAlarms],
    ["machines", t.navMachines],
    ["releases", t.navReleases],
  ];
  if (isAdmin) links.push(["users", t.navUsers], ["audit", t.navAudit]);
  links.push(["password", t.navPassword]);
  const section = sectionOf(route);

  return (
    <SessionContext.Provider value={session}>
      <header class="topbar">
        <a class="brand" href={to.home()}>
          {t.appName}
        </a>
        <nav aria-label={t.mainNav}>
          {links.map(([s, label]) => (
            <a key={s} href={sectionHref(s)} aria-current={section === s ? "page" : undefined}>
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
      <main class="page" key={pageKey(route)}>
        <Page route={route} session={session} onPasswordChanged={onPasswordChanged} />
      </main>
      {showPrompt && (
        <PasswordPrompt
          username={session.username}
          onChanged={onPasswordChanged}
          onDismiss={onDismissPrompt}
        />
      )}
    </SessionContext.Provider>
  );
}

/** Pages remount when this changes (not for a new filter or zoom in the same page). */
function pageKey(route: Route): string {
  if (route.page === "service") return `service:${route.name}`;
  if (route.page === "monitor") return `monitor:${route.service ?? ""}`;
  if (route.page === "rule") return `rule:${route.id}`;
  if (route.page === "release") return `release:${route.id}`;
  return route.page;
}

function Page({
  route,
  session,
  onPasswordChanged,
}: {
  route: Route;
  session: SessionInfo;
  onPasswordChanged: () => void;
}): ComponentChildren {
  const { t } = useI18n();
  const isAdmin = session.role === "admin";
  switch (route.page) {
    case "home":
      return <HomePage username={session.username} />;
    case "password":
      return <PasswordPage username={session.username} onChanged={onPasswordChanged} />;
    case "users":
      return isAdmin ? <UsersPage /> : <Missing message={t.adminOnly} />;
    case "audit":
      return isAdmin ? <AuditPage /> : <Missing message={t.adminOnly} />;
    case "services":
      return <ServicesPage />;
    case "service":
      return <ServicePage name={route.name} />;
    case "monitor":
      return <MonitorPage service={route.service} query={route.query} />;
    case "alarms":
      return <AlarmsPage tab={route.tab} query={route.query} />;
    case "rule":
      return <RulePage id={route.id} query={route.query} />;
    case "machines":
      return <MachinesPage />;
    case "releases":
      return <ReleasesPage query={route.query} />;
    case "release":
      return <ReleasePage id={route.id} />;
    case "release-new":
      return <ReleaseWizard query={route.query} />;
    case "unknown":
      return <Missing message={t.notFound} />;
  }
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
      <a href={to.home()}>{t.backHome}</a>
    </div>
  );
}
