import { useState } from "preact/hooks";
import { ROLES, type Role } from "../../core/roles.js";
import type { User } from "../../core/schemas/auth.js";
import { api } from "../api.js";
import { FormErrorNote, InputField, SelectField, SubmitButton } from "../components/field.js";
import { DataTable } from "../components/table.js";
import { PageTitle, useAction, useLoad } from "../components.js";
import { fmt, roleLabel, useI18n } from "../i18n/index.js";

export function UsersPage() {
  const { t, lang } = useI18n();
  const users = useLoad(() => api<{ users: User[] }>("GET", "/users"));

  return (
    <>
      <PageTitle>{t.usersTitle}</PageTitle>
      <DataTable
        load={users}
        rows={(d) => d.users}
        empty={t.noEntries}
        columns={[t.username, t.role, t.mustChange, t.created]}
        row={(u) => (
          <tr key={u.username}>
            <td>{u.username}</td>
            <td>
              <span class={`badge badge-${u.role}`}>{roleLabel(t, u.role)}</span>
            </td>
            <td>{u.mustChangePassword ? t.yes : t.no}</td>
            <td>{new Date(u.createdAt).toLocaleString(lang)}</td>
          </tr>
        )}
      />
      <AddUserForm onAdded={users.reload} />
    </>
  );
}

function AddUserForm({ onAdded }: { onAdded: () => void }) {
  const { t } = useI18n();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [role, setRole] = useState<Role>("viewer");
  const [done, setDone] = useState<string>();
  const action = useAction();
  const invalid = { error: action.error, errorId: "add-user-error" };

  const submit = async (e: Event) => {
    e.preventDefault();
    setDone(undefined);
    await action.run(async () => {
      const user = await api<User>("POST", "/users", { body: { username, password, role } });
      setDone(fmt(t.userCreated, { user: user.username }));
      setUsername("");
      setPassword("");
      setRole("viewer");
      onAdded();
    });
  };

  return (
    <form class="card form-card" onSubmit={submit} aria-labelledby="add-user-title">
      <h2 id="add-user-title">{t.addUserTitle}</h2>
      <div class="row">
        <InputField
          id="new-username"
          name="username"
          label={t.username}
          hint={t.usernameHint}
          autoComplete="off"
          plain
          required
          value={username}
          onValue={setUsername}
          invalid={invalid}
        />
        <InputField
          id="new-password"
          name="password"
          type="password"
          label={t.password}
          hint={t.passwordHint}
          autoComplete="new-password"
          required
          value={password}
          onValue={setPassword}
          invalid={invalid}
        />
        <SelectField
          id="new-role"
          name="role"
          label={t.role}
          value={role}
          onValue={setRole}
          options={ROLES.map((r) => ({ value: r, label: roleLabel(t, r) }))}
          narrow
          invalid={invalid}
        />
      </div>
      <FormErrorNote error={action.error} id="add-user-error" />
      {done && (
        <p class="note note-ok" role="status">
          {done}
        </p>
      )}
      <div class="actions">
        <SubmitButton busy={action.busy} busyLabel={t.adding}>
          {t.addUser}
        </SubmitButton>
      </div>
    </form>
  );
}
