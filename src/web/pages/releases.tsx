import { RELEASE_STATES } from "../../core/release-actions.js";
import type { ReleaseState } from "../../core/schemas/release.js";
import { API } from "../api.js";
import { ReleaseStateBadge } from "../components/badges.js";
import { DataTable } from "../components/table.js";
import { PageTitle, useLoad, usePoll, When } from "../components.js";
import { useI18n } from "../i18n/index.js";
import {
  progressText,
  releaseStateLabel,
  releaseTypeLabel,
  versionsText,
} from "../release-text.js";
import { replaceLink, to } from "../router.js";
import { useSession } from "../session.js";

const REFRESH_MS = 5_000;

/** Every release plan, newest first, by service and state; operators start a new one. */
export function ReleasesPage({ query }: { query: URLSearchParams }) {
  const { t } = useI18n();
  const { can } = useSession();
  const service = query.get("service") || undefined;
  const stateParam = query.get("state");
  const state = RELEASE_STATES.find((s) => s === stateParam);
  const releases = useLoad(() => API.releases({ service, state, limit: 200 }), [service, state]);
  usePoll(releases.reload, REFRESH_MS);
  const services = useLoad(() => API.services());
  const setFilter = (next: { service?: string | undefined; state?: ReleaseState | undefined }) =>
    replaceLink(to.releases({ service, state, ...next }));
  const now = Date.now();

  return (
    <>
      <PageTitle
        actions={
          can("operator") ? (
            <a class="button primary" href={to.newRelease({ service })}>
              {t.newRelease}
            </a>
          ) : undefined
        }
      >
        {t.releasesTitle}
      </PageTitle>
      <p class="muted">{t.releasesIntro}</p>
      <div class="toolbar">
        <label class="inline-field">
          <span>{t.service}</span>
          <select
            value={service ?? ""}
            onChange={(e) => setFilter({ service: e.currentTarget.value || undefined })}
          >
            <option value="">{t.allServices}</option>
            {services.data?.services.map((s) => (
              <option key={s.name} value={s.name}>
                {s.name}
              </option>
            ))}
          </select>
        </label>
        <label class="inline-field">
          <span>{t.state}</span>
          <select
            value={state ?? ""}
            onChange={(e) =>
              setFilter({
                state: RELEASE_STATES.find((s) => s === e.currentTarget.value),
              })
            }
          >
            <option value="">{t.allStates}</option>
            {RELEASE_STATES.map((s) => (
              <option key={s} value={s}>
                {releaseStateLabel(t, s)}
              </option>
            ))}
          </select>
        </label>
      </div>
      <DataTable
        load={releases}
        rows={(d) => d.releases}
        empty={t.noReleases}
        testId="releases"
        columns={[
          "#",
          t.service,
          t.releaseType,
          t.versions,
          t.state,
          t.progress,
          t.createdBy,
          t.created,
        ]}
        row={(r) => (
          <tr key={r.id}>
            <td>
              <a href={to.release(r.id)} aria-label={`${t.release} ${r.id}`}>
                #{r.id}
              </a>
            </td>
            <td>
              <a href={to.service(r.service)}>{r.service}</a>
            </td>
            <td>{releaseTypeLabel(t, r.type)}</td>
            <td>{versionsText(t, r.spec.versions)}</td>
            <td>
              <ReleaseStateBadge state={r.state} />
            </td>
            <td>{progressText(t, r)}</td>
            <td>{r.createdBy}</td>
            <td>
              <When at={r.createdAt} now={now} />
            </td>
          </tr>
        )}
      />
    </>
  );
}
