import type { Command } from "commander";
import { z } from "zod";
import { AuditEntry } from "../../core/schemas/auth.js";
import { intArg } from "../args.js";
import { apiClient, globals } from "../context.js";
import { printJson, printTable } from "../output.js";

export function registerAuditCommands(program: Command): void {
  program
    .command("audit")
    .description("read the audit log, newest first (admin)")
    .option("--limit <n>", "how many entries (1-1000)", intArg(1, 1000), 100)
    .option("--actor <user>", "only changes by this user")
    .option("--action <action>", "only this action, e.g. user.create")
    .option(
      "--before <id>",
      "only entries older than this id (paging)",
      intArg(1, Number.MAX_SAFE_INTEGER),
    )
    .action(
      async (
        flags: { limit: number; actor?: string; action?: string; before?: number },
        cmd: Command,
      ) => {
        const q = new URLSearchParams({ limit: String(flags.limit) });
        if (flags.actor) q.set("actor", flags.actor);
        if (flags.action) q.set("action", flags.action);
        if (flags.before) q.set("before", String(flags.before));
        const { entries } = await (await apiClient(cmd)).get(
          `/audit?${q}`,
          z.object({ entries: z.array(AuditEntry) }),
        );
        if (globals(cmd).json) printJson(entries);
        else printTable(entries, ["id", "at", "actor", "action", "target", "outcome", "sourceIp"]);
      },
    );
}
