import { type Command, Option } from "commander";
import { z } from "zod";
import { ROLES } from "../../core/roles.js";
import { SessionInfo, User } from "../../core/schemas/auth.js";
import { apiClient, globals } from "../context.js";
import { readPassword } from "../input.js";
import { printJson, printTable } from "../output.js";

const roleOption = () => new Option("--role <role>", "role").choices(ROLES);

export function registerUserCommands(program: Command): void {
  const user = program
    .command("user")
    .description("manage console users (admin; anyone may show and change their own)");

  user
    .command("list")
    .description("list users")
    .action(async (_f: unknown, cmd: Command) => {
      const { users } = await (await apiClient(cmd)).get(
        "/users",
        z.object({ users: z.array(User) }),
      );
      if (globals(cmd).json) printJson(users);
      else printTable(users, ["username", "role", "mustChangePassword", "createdAt"]);
    });

  user
    .command("show")
    .description("show one user")
    .argument("<name>", "user name")
    .action(async (name: string, _f: unknown, cmd: Command) => {
      const u = await (await apiClient(cmd)).get(`/users/${encodeURIComponent(name)}`, User);
      if (globals(cmd).json) printJson(u);
      else printTable([u], ["username", "role", "mustChangePassword", "createdAt", "updatedAt"]);
    });

  user
    .command("add")
    .description("create a user")
    .argument("<name>", "user name")
    .addOption(roleOption().default("viewer"))
    .option("--password-stdin", "read the password from standard input")
    .action(
      async (name: string, flags: { role: string; passwordStdin?: boolean }, cmd: Command) => {
        const password = await readPassword(flags.passwordStdin ?? false, `password for ${name}: `);
        const u = await (await apiClient(cmd)).post(
          "/users",
          { username: name, password, role: flags.role },
          User,
        );
        process.stdout.write(`created ${u.username} (${u.role})\n`);
      },
    );

  user
    .command("role")
    .description("change a user's role")
    .argument("<name>", "user name")
    .addOption(roleOption().makeOptionMandatory())
    .action(async (name: string, flags: { role: string }, cmd: Command) => {
      const u = await (await apiClient(cmd)).patch(
        `/users/${encodeURIComponent(name)}`,
        { role: flags.role },
        User,
      );
      process.stdout.write(`${u.username} is now ${u.role}\n`);
    });

  user
    .command("passwd")
    .description("set a password: your own (asks for the current one) or, as admin, anyone's")
    .argument("<name>", "user name")
    .option(
      "--password-stdin",
      "read the new password (and, for yourself, the current one on the line before) from standard input",
    )
    .action(async (name: string, flags: { passwordStdin?: boolean }, cmd: Command) => {
      const client = await apiClient(cmd);
      const me = await client.get("/auth/session", SessionInfo);
      let currentPassword: string | undefined;
      let password: string;
      if (flags.passwordStdin) {
        const lines = (await readPassword(true, "")).split(/\r?\n/);
        [currentPassword, password] =
          me.username === name && lines.length > 1
            ? [lines[0], lines[1] ?? ""]
            : [undefined, lines[0] ?? ""];
      } else {
        if (me.username === name) currentPassword = await readPassword(false, "current password: ");
        password = await readPassword(false, `new password for ${name}: `);
      }
      await client.put(`/users/${encodeURIComponent(name)}/password`, {
        password,
        ...(currentPassword !== undefined ? { currentPassword } : {}),
      });
      process.stdout.write(`password of ${name} changed\n`);
    });

  user
    .command("rm")
    .description("remove a user (and their sessions and tokens)")
    .argument("<name>", "user name")
    .action(async (name: string, _f: unknown, cmd: Command) => {
      await (await apiClient(cmd)).delete(`/users/${encodeURIComponent(name)}`);
      process.stdout.write(`removed ${name}\n`);
    });
}
