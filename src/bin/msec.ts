#!/usr/bin/env node
/**
 * The `msec` executable: the composition root that puts the client commands (cli/)
 * together with the server commands that run the console (and later the agent).
 */
import { CommanderError } from "commander";
import { UsageError } from "../cli/errors.js";
import { createProgram } from "../cli/program.js";
import { isMsecError } from "../core/errors.js";
import { registerAgentCommand } from "./agent-command.js";
import { registerServerCommands } from "./server-commands.js";

/** Exit codes scripts can trust: 0 ok, 1 the operation failed, 2 the command was misused. */
const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

async function main(argv: string[]): Promise<number> {
  const program = createProgram((p) => {
    registerServerCommands(p);
    registerAgentCommand(p);
  });
  if (argv.length <= 2) {
    program.outputHelp();
    return EXIT.usage;
  }
  try {
    await program.parseAsync(argv);
    return EXIT.ok;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Commander has already printed its message or the help text.
      const fine = ["commander.helpDisplayed", "commander.help", "commander.version"].includes(
        e.code,
      );
      return fine ? EXIT.ok : EXIT.usage;
    }
    if (e instanceof UsageError) {
      process.stderr.write(`error: ${e.message}\n`);
      return EXIT.usage;
    }
    if (isMsecError(e)) {
      process.stderr.write(`error: ${e.message} [${e.code}]\n`);
      return EXIT.failed;
    }
    // A stack trace helps us, not the operator: show it only when asked (MSEC_DEBUG=1).
    const detail =
      e instanceof Error
        ? process.env.MSEC_DEBUG
          ? (e.stack ?? e.message)
          : e.message
        : String(e);
    process.stderr.write(`error: ${detail}\n`);
    return EXIT.failed;
  }
}

main(process.argv).then((code) => {
  process.exitCode = code;
});
