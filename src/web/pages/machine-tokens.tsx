import { useEffect, useState } from "preact/hooks";
import type { CreatedJoinToken, JoinTokenView } from "../../core/schemas/machine.js";
import { API } from "../api.js";
import { ConfirmDialog } from "../components/dialog.js";
import { ErrorNote, LoadState, useAction, useLoad, When } from "../components.js";
import { fmt, useI18n } from "../i18n/index.js";

/** `zone=sz, rack=r4` */
export function labelsText(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(", ");
}

/** `zone=sz, rack=r4` (commas, spaces or new lines between) → `{ zone: "sz", rack: "r4" }`. */
export function parseLabels(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(/[,\s]+/)) {
    if (part === "") continue;
    const i = part.indexOf("=");
    if (i < 0) out[part] = "";
    else out[part.slice(0, i)] = part.slice(i + 1);
  }
  return out;
}

const HOUR = 3600;
const VALIDITY = [HOUR, 24 * HOUR, 7 * 24 * HOUR, 30 * 24 * HOUR] as const;

/** Admins: one-time join tokens that let a new machine's agent enroll. */
export function JoinTokens({ round }: { round: number }) {
  const { t, f } = useI18n();
  const tokens = useLoad(() => API.joinTokens(), []);
  useEffect(() => {
    if (round > 0) tokens.reload();
  }, [round]);
  const [labels, setLabels] = useState("");
  const [ttl, setTtl] = useState(String(24 * HOUR));
  const [note, setNote] = useState("");
  const [created, setCreated] = useState<CreatedJoinToken>();
  const [revoking, setRevoking] = useState<JoinTokenView>();
  const action = useAction();
  const now = Date.now();

  const submit = async (e: Event) => {
    e.preventDefault();
    setCreated(undefined);
    await action.run(async () => {
      setCreated(
        await API.createJoinToken({ labels: parseLabels(labels), ttlSeconds: Number(ttl), note }),
      );
      setLabels("");
      setNote("");
      tokens.reload();
    });
  };
  const validity = (s: number) =>
    s < 24 * HOUR ? f.duration(s / HOUR, "hour") : f.duration(s / 86400, "day");
  const consoleUrl = `${location.origin}${location.pathname.replace(/\/$/, "")}`;

  return (
    <section aria-labelledby="tokens-title">
      <h2 id="tokens-title">{t.joinTokensTitle}</h2>
      <p class="muted">{t.joinTokensIntro}</p>
      <form class="card" onSubmit={submit} noValidate aria-labelledby="new-token-title">
        <h3 id="new-token-title">{t.newJoinToken}</h3>
        <div class="row">
          <div class="field">
            <label htmlFor="token-labels">{t.labels}</label>
            <input
              id="token-labels"
              value={labels}
              placeholder="zone=sz, rack=r4"
              onInput={(e) => setLabels(e.currentTarget.value)}
              aria-describedby="token-labels-hint"
            />
            <small class="hint" id="token-labels-hint">
              {t.tokenLabelsHint}
            </small>
          </div>
          <div class="field field-narrow">
            <label htmlFor="token-ttl">{t.validFor}</label>
            <select id="token-ttl" value={ttl} onChange={(e) => setTtl(e.currentTarget.value)}>
              {VALIDITY.map((s) => (
                <option key={s} value={String(s)}>
                  {validity(s)}
                </option>
              ))}
            </select>
          </div>
          <div class="field">
            <label htmlFor="token-note">{t.note}</label>
            <input
              id="token-note"
              maxLength={500}
              value={note}
              onInput={(e) => setNote(e.currentTarget.value)}
            />
          </div>
        </div>
        {action.error && <ErrorNote>{action.error.message}</ErrorNote>}
        {created && (
          <div class="note note-ok" role="status" data-testid="new-token">
            <p>{t.tokenShownOnce}</p>
            <code class="secret">{created.token}</code>
            <p>{t.tokenCommand}</p>
            <code class="secret">
              msec agent --console {consoleUrl} --token {created.token}
            </code>
          </div>
        )}
        <div class="actions">
          <button type="submit" class="primary" disabled={action.busy}>
            {action.busy ? t.working : t.createToken}
          </button>
        </div>
      </form>
      <LoadState load={tokens} empty={t.noJoinTokens} isEmpty={(d) => d.tokens.length === 0} />
      {tokens.data && tokens.data.tokens.length > 0 && (
        <div class="table-wrap">
          <table data-testid="join-tokens">
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">{t.labels}</th>
                <th scope="col">{t.note}</th>
                <th scope="col">{t.createdBy}</th>
                <th scope="col">{t.expires}</th>
                <th scope="col">{t.usedBy}</th>
                <th scope="col">{t.actionsHeader}</th>
              </tr>
            </thead>
            <tbody>
              {tokens.data.tokens.map((tok) => (
                <tr key={tok.id}>
                  <td>{tok.id}</td>
                  <td>{labelsText(tok.labels) || <span class="muted">–</span>}</td>
                  <td>{tok.note || <span class="muted">–</span>}</td>
                  <td>{tok.createdBy}</td>
                  <td>
                    <When at={tok.expiresAt} now={now} />
                  </td>
                  <td>{tok.usedBy ?? <span class="muted">{t.unused}</span>}</td>
                  <td>
                    {tok.usedBy === null && (
                      <button
                        type="button"
                        class="link danger-link"
                        aria-label={fmt(t.revokeTokenN, { id: String(tok.id) })}
                        onClick={() => setRevoking(tok)}
                      >
                        {t.revoke}
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {revoking && (
        <ConfirmDialog
          title={fmt(t.revokeTokenN, { id: String(revoking.id) })}
          message={t.revokeTokenText}
          confirmLabel={t.revoke}
          danger
          onConfirm={() => API.revokeJoinToken(revoking.id)}
          onClose={() => {
            setRevoking(undefined);
            tokens.reload();
          }}
        />
      )}
    </section>
  );
}
