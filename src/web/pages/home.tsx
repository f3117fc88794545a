import type { Health, VersionInfo } from "../../core/schemas/common.js";
import { api, errorText } from "../api.js";
import { PageTitle, useLoad } from "../components.js";
import { fmt, useI18n } from "../i18n/index.js";

export function HomePage({ username }: { username: string }) {
  const { t } = useI18n();
  const version = useLoad(() => api<VersionInfo>("GET", "/version"));
  const health = useLoad(() => api<Health>("GET", "/health"));
  const refresh = () => {
    version.reload();
    health.reload();
  };

  return (
    <>
      <PageTitle
        actions={
          <button type="button" onClick={refresh} disabled={version.loading || health.loading}>
            {t.refresh}
          </button>
        }
      >
        {t.homeTitle}
      </PageTitle>
      <p class="muted">{fmt(t.welcome, { user: username })}</p>
      <div class="cards">
        <section class="card" aria-labelledby="version-title">
          <h2 id="version-title">{t.versionTitle}</h2>
          {version.data ? (
            <dl class="facts" data-testid="version">
              <dt>{t.version}</dt>
              <dd>{version.data.version}</dd>
              <dt>{t.node}</dt>
              <dd>{version.data.node}</dd>
              <dt>{t.schema}</dt>
              <dd>{version.data.schema}</dd>
            </dl>
          ) : version.error ? (
            <p class="note note-error">{errorText(version.error, t.networkError)}</p>
          ) : (
            <p class="muted">{t.loading}</p>
          )}
        </section>
        <section class="card" aria-labelledby="health-title">
          <h2 id="health-title">{t.healthTitle}</h2>
          {health.data ? (
            <dl class="facts" data-testid="health">
              <dt>{t.status}</dt>
              <dd>
                <span class="badge badge-ok">{t.healthOk}</span>
              </dd>
              <dt>{t.store}</dt>
              <dd>{health.data.store}</dd>
            </dl>
          ) : health.error ? (
            <dl class="facts" data-testid="health">
              <dt>{t.status}</dt>
              <dd>
                <span class="badge badge-bad">{t.healthDown}</span>
              </dd>
              <dt>{t.details}</dt>
              <dd>{errorText(health.error, t.networkError)}</dd>
            </dl>
          ) : (
            <p class="muted">{t.loading}</p>
          )}
        </section>
      </div>
    </>
  );
}
