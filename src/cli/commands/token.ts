import { type Command, Option } from "commander";
import { z } from "zod";
import { ROLES } from "../../core/roles.js";
import { ApiToken, CreatedToken } from "../../core/schemas/auth.js";
import { intArg } from "../args.js";
import { apiClient, globals } from "../context.js";
import { printJson, printTable } from "../output.js";

export function registerTokenCommands(program: Command): void {
  const token = program.command("token").description("manage API tokens for scripts and CI");

  token
    .command("list")
    .description("list your tokens (--all: everyone's, admin)")
    .option("--all", "every user's tokens")
    .action(async (flags: { all?: boolean }, cmd: Command) => {
      const { tokens } = await (await apiClient(cmd)).get(
        `/tokens${flags.all ? "?all=true" : ""}`,
        z.object({ tokens: z.array(ApiToken) }),
      );
      if (globals(cmd).json) printJson(tokens);
      else
        printTable(tokens, [
          "id",
          "name",
          "username",
          "role",
          "createdAt",
          "expiresAt",
          "lastUsedAt",
        ]);
    });

  token
    .command("create")
    .description("create a token; the secret is printed once")
    .argument("<name>", "a name to recognise it by")
    .addOption(new Option("--role <role>", "narrow the token below your own role").choices(ROLES))
    .option("--expires-in-days <n>", "lifetime in days", intArg(1, 3650))
    .action(
      async (name: string, flags: { role?: string; expiresInDays?: number }, cmd: Command) => {
        const t = await (await apiClient(cmd)).post(
          "/tokens",
          {
            name,
            ...(flags.role ? { role: flags.role } : {}),
            ...(flags.expiresInDays ? { expiresInDays: flags.expiresInDays } : {}),
          },
          CreatedToken,
        );
        if (globals(cmd).json) printJson(t);
        else
          process.stdout.write(
            `${t.token}\n(token ${t.id} "${t.name}", role ${t.role}; shown once)\n`,
          );
      },
    );

  token
    .command("revoke")
    .description("revoke a token by id")
    .argument("<id>", "token id (from `msec token list`)", intArg(1, Number.MAX_SAFE_INTEGER))
    .action(async (id: number, _f: unknown, cmd: Command) => {
      await (await apiClient(cmd)).delete(`/tokens/${id}`);
      process.stdout.write(`revoked token ${id}\n`);
    });
}
