import { useState } from "preact/hooks";
import { ROLES, type Role } from "../../core/roles.js";
import type { User } from "../../core/schemas/auth.js";
import { api } from "../api.js";
import {
  describedProps,
  ErrorNote,
  type FormError,
  LoadError,
  PageTitle,
  toFormError,
  useLoad,
} from "../components.js";
import { fmt, roleLabel, useI18n } from "../i18n/index.js";

export function UsersPage() {
  const { t, lang } = useI18n();
  const users = useLoad(() => api<{ users: User[] }>("GET", "/users"));

  return (
    <>
      <PageTitle>{t.usersTitle}</PageTitle>
      {users.error !== undefined && <LoadError error={users.error} onRetry={users.reload} />}
      {users.data && (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">{t.username}</th>
                <th scope="col">{t.role}</th>
                <th scope="col">{t.mustChange}</th>
                <th scope="col">{t.created}</th>
              </tr>
            </thead>
            <tbody>
              {users.data.users.map((u) => (
                <tr key={u.username}>
                  <td>{u.username}</td>
                  <td>
                    <span class={`badge badge-${u.role}`}>{roleLabel(t, u.role)}</span>
                  </td>
                  <td>{u.mustChangePassword ? t.yes : t.no}</td>
                  <td>{new Date(u.createdAt).toLocaleString(lang)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {users.loading && !users.data && <p class="muted">{t.loading}</p>}
      <AddUserForm onAdded={users.reload} />
    </>
  );
}

function AddUserForm({ onAdded }: { onAdded: () => void }) {
  const { t } = useI18n();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [role, setRole] = useState<Role>("viewer");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<FormError>();
  const [done, setDone] = useState<string>();

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    setDone(undefined);
    try {
      const user = await api<User>("POST", "/users", { body: { username, password, role } });
      setDone(fmt(t.userCreated, { user: user.username }));
      setUsername("");
      setPassword("");
      setRole("viewer");
      onAdded();
    } catch (err) {
      setError(toFormError(err, t.networkError));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="card form-card" onSubmit={submit} aria-labelledby="add-user-title">
      <h2 id="add-user-title">{t.addUserTitle}</h2>
      <div class="row">
        <div class="field">
          <label htmlFor="new-username">{t.username}</label>
          <input
            id="new-username"
            name="username"
            autoComplete="off"
            autoCapitalize="none"
            spellcheck={false}
            required
            value={username}
            onInput={(e) => setUsername(e.currentTarget.value)}
            {...describedProps(error, "username", "add-user-error", "new-username-hint")}
          />
          <small class="hint" id="new-username-hint">
            {t.usernameHint}
          </small>
        </div>
        <div class="field">
          <label htmlFor="new-password">{t.password}</label>
          <input
            id="new-password"
            name="password"
            type="password"
            autoComplete="new-password"
            required
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
            {...describedProps(error, "password", "add-user-error", "new-password-hint")}
          />
          <small class="hint" id="new-password-hint">
            {t.passwordHint}
          </small>
        </div>
        <div class="field field-narrow">
          <label htmlFor="new-role">{t.role}</label>
          <select
            id="new-role"
            name="role"
            value={role}
            onChange={(e) => setRole(e.currentTarget.value as Role)}
            {...describedProps(error, "role", "add-user-error")}
          >
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {roleLabel(t, r)}
              </option>
            ))}
          </select>
        </div>
      </div>
      {error && <ErrorNote id="add-user-error">{error.message}</ErrorNote>}
      {done && (
        <p class="note note-ok" role="status">
          {done}
        </p>
      )}
      <div class="actions">
        <button type="submit" class="primary" disabled={busy}>
          {busy ? t.adding : t.addUser}
        </button>
      </div>
    </form>
  );
}
