import { hostname } from "node:os";
import type { Command } from "commander";
import { MsecError } from "../../core/errors.js";
import { CreatedToken, SessionInfo } from "../../core/schemas/auth.js";
import { intArg } from "../args.js";
import { ApiClient } from "../client.js";
import { apiClient, globals } from "../context.js";
import { credentialsPath, forgetLogin, savedLogin, saveLogin } from "../credentials.js";
import { readPassword } from "../input.js";
import { printJson } from "../output.js";

export function registerAuthCommands(program: Command): void {
  program
    .command("login")
    .description("log in and save an API token for this console in ~/.msec/credentials (mode 0600)")
    .requiredOption("--user <name>", "user name")
    .option("--password-stdin", "read the password from standard input")
    .option("--expires-in-days <n>", "token lifetime in days (default: no expiry)", intArg(1, 3650))
    .action(
      async (
        flags: { user: string; passwordStdin?: boolean; expiresInDays?: number },
        cmd: Command,
      ) => {
        const g = globals(cmd);
        const password = await readPassword(flags.passwordStdin ?? false, "password: ");
        const anon = new ApiClient({ console: g.console });
        const res = await anon.raw("POST", "/auth/login", { username: flags.user, password });
        const session = SessionInfo.parse(await res.json());
        const cookie = res.headers.get("set-cookie")?.split(";")[0];
        if (!cookie || !session.csrfToken)
          throw new MsecError("internal", "the console set no session");
        const browserLike = new ApiClient({
          console: g.console,
          headers: { cookie, "x-csrf-token": session.csrfToken },
        });
        // Token names are at most 64 characters: keep the host part short.
        const host = hostname().split(".")[0]?.slice(0, 30) ?? "host";
        const name = `cli@${host}-${new Date().toISOString().replace(/[-:.]/g, "")}`;
        let token: CreatedToken;
        try {
          token = await browserLike.post(
            "/tokens",
            { name, ...(flags.expiresInDays ? { expiresInDays: flags.expiresInDays } : {}) },
            CreatedToken,
          );
        } finally {
          await browserLike.raw("POST", "/auth/logout", undefined).catch(() => {});
        }
        // One saved token per console: the one this login replaces is revoked.
        const previous = await savedLogin(g.console);
        if (previous) {
          await new ApiClient({ console: g.console, token: previous.token })
            .raw("POST", "/auth/logout", undefined)
            .catch(() => {});
        }
        await saveLogin(g.console, {
          token: token.token,
          tokenId: token.id,
          username: session.username,
        });
        process.stdout.write(
          `logged in to ${g.console} as ${session.username} (${session.role}); token saved in ${credentialsPath()}\n`,
        );
        if (session.mustChangePassword) {
          process.stdout.write(
            `your password was generated or reset: change it with \`msec user passwd ${session.username}\`\n`,
          );
        }
      },
    );

  program
    .command("logout")
    .description("revoke the saved token of this console and forget it")
    .action(async (_flags: unknown, cmd: Command) => {
      const g = globals(cmd);
      const saved = await savedLogin(g.console);
      if (!saved) {
        process.stdout.write(`not logged in to ${g.console}\n`);
        return;
      }
      try {
        await new ApiClient({ console: g.console, token: saved.token }).raw(
          "POST",
          "/auth/logout",
          undefined,
        );
      } catch (e) {
        // An already revoked token is as good as logged out.
        if (!(e instanceof MsecError && e.code === "unauthenticated")) throw e;
      }
      await forgetLogin(g.console);
      process.stdout.write(`logged out of ${g.console}\n`);
    });

  program
    .command("whoami")
    .description("show who the saved token or --token acts as")
    .action(async (_flags: unknown, cmd: Command) => {
      const info = await (await apiClient(cmd)).get("/auth/session", SessionInfo);
      if (globals(cmd).json) printJson(info);
      else process.stdout.write(`${info.username} (${info.role}) via ${info.via}\n`);
    });
}
