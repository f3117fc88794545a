import type { ArtifactKind, ArtifactView } from "../../core/schemas/artifact.js";
import { API } from "../api.js";
import { DataTable, orDash } from "../components/table.js";
import { useLoad, When } from "../components.js";
import type { Messages } from "../i18n/en.js";
import { fmt, useI18n } from "../i18n/index.js";

const KIND_ORDER: ArtifactKind[] = ["package", "config", "lib", "plugin"];

export function artifactKindLabel(t: Messages, k: ArtifactKind): string {
  return { package: t.kindPackage, config: t.kindConfig, lib: t.kindLib, plugin: t.kindPlugin }[k];
}

interface Group {
  kind: ArtifactKind;
  name: string | null;
  /** Newest first. */
  versions: ArtifactView[];
}

function groups(artifacts: readonly ArtifactView[]): Group[] {
  const byKey = new Map<string, Group>();
  for (const a of artifacts) {
    const key = `${a.kind}\u0000${a.name ?? ""}`;
    let g = byKey.get(key);
    if (!g) {
      g = { kind: a.kind, name: a.name, versions: [] };
      byKey.set(key, g);
    }
    g.versions.push(a);
  }
  const out = [...byKey.values()];
  for (const g of out) g.versions.sort((a, b) => b.version - a.version);
  return out.sort(
    (a, b) =>
      KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind) ||
      (a.name ?? "").localeCompare(b.name ?? ""),
  );
}

/** A service's code packages, config files, libraries and plugins, with their versions. */
export function ArtifactsSection({ service }: { service: string }) {
  const { t } = useI18n();
  const artifacts = useLoad(() => API.artifacts(service), [service]);
  return (
    <section aria-labelledby="artifacts-title">
      <h2 id="artifacts-title">{t.artifactsTitle}</h2>
      <DataTable
        load={artifacts}
        rows={(d) => groups(d.artifacts)}
        empty={t.noArtifacts}
        columns={[
          t.artifactKind,
          t.artifactName,
          t.latestVersion,
          t.uploaded,
          t.note,
          t.allVersions,
        ]}
        row={(g) => <ArtifactRow key={`${g.kind}/${g.name ?? ""}`} group={g} />}
      />
    </section>
  );
}

function ArtifactRow({ group: g }: { group: Group }) {
  const { t, f } = useI18n();
  const latest = g.versions[0] as ArtifactView;
  return (
    <tr>
      <td>{artifactKindLabel(t, g.kind)}</td>
      <td>{orDash(g.name && <code>{g.name}</code>)}</td>
      <td>
        <strong>v{latest.version}</strong> <span class="muted">({f.bytes(latest.size)})</span>
      </td>
      <td>
        <When at={latest.uploadedAt} /> <span class="muted">· {latest.uploadedBy}</span>
      </td>
      <td>{orDash(latest.note)}</td>
      <td>
        <details>
          <summary>{fmt(t.versionCount, { n: f.number(g.versions.length) })}</summary>
          <ul class="versions">
            {g.versions.map((v) => (
              <li key={v.version}>
                <strong>v{v.version}</strong> · {f.dateTime(v.uploadedAt)} · {v.uploadedBy} ·{" "}
                {f.bytes(v.size)} · <code title={v.sha256}>sha256 {v.sha256.slice(0, 12)}…</code>
                {v.note && <span> · {v.note}</span>}
              </li>
            ))}
          </ul>
        </details>
      </td>
    </tr>
  );
}
