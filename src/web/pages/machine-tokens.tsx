import { useEffect, useState } from "preact/hooks";
import type { CreatedJoinToken, JoinTokenView } from "../../core/schemas/machine.js";
import { API } from "../api.js";
import { ConfirmDialog, useDialog } from "../components/dialog.js";
import { FormErrorNote, InputField, SelectField, SubmitButton } from "../components/field.js";
import { LabelsField, labelsText, parseLabels } from "../components/labels.js";
import { DataTable, orDash } from "../components/table.js";
import { useAction, useLoad, When } from "../components.js";
import { fmt, useI18n } from "../i18n/index.js";

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
  const revoking = useDialog<JoinTokenView>(tokens.reload);
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
          <LabelsField
            id="token-labels"
            label={t.labels}
            value={labels}
            onValue={setLabels}
            hint={t.tokenLabelsHint}
          />
          <SelectField
            id="token-ttl"
            label={t.validFor}
            value={ttl}
            onValue={setTtl}
            options={VALIDITY.map((s) => ({ value: String(s), label: validity(s) }))}
            narrow
          />
          <InputField
            id="token-note"
            label={t.note}
            value={note}
            onValue={setNote}
            maxLength={500}
          />
        </div>
        <FormErrorNote error={action.error} />
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
          <SubmitButton busy={action.busy}>{t.createToken}</SubmitButton>
        </div>
      </form>
      <DataTable
        load={tokens}
        rows={(d) => d.tokens}
        empty={t.noJoinTokens}
        testId="join-tokens"
        columns={["#", t.labels, t.note, t.createdBy, t.expires, t.usedBy, t.actionsHeader]}
        row={(tok) => (
          <tr key={tok.id}>
            <td>{tok.id}</td>
            <td>{orDash(labelsText(tok.labels))}</td>
            <td>{orDash(tok.note)}</td>
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
                  onClick={() => revoking.show(tok)}
                >
                  {t.revoke}
                </button>
              )}
            </td>
          </tr>
        )}
      />
      {revoking.render((tok) => (
        <ConfirmDialog
          title={fmt(t.revokeTokenN, { id: String(tok.id) })}
          message={t.revokeTokenText}
          confirmLabel={t.revoke}
          danger
          onConfirm={() => API.revokeJoinToken(tok.id)}
          onClose={revoking.close}
        />
      ))}
    </section>
  );
}
