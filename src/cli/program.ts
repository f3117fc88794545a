import { Command, Option } from "commander";
import { VERSION } from "../core/version.js";
import { registerAlarmCommands } from "./commands/alarm.js";
import { registerArtifactCommands } from "./commands/artifact.js";
import { registerAuditCommands } from "./commands/audit.js";
import { registerAuthCommands } from "./commands/auth.js";
import { registerMachineCommands } from "./commands/machine.js";
import { registerMetricCommands } from "./commands/metric.js";
import { registerReleaseCommands } from "./commands/release.js";
import { registerServiceCommands } from "./commands/service.js";
import { registerTokenCommands } from "./commands/token.js";
import { registerUserCommands } from "./commands/user.js";
import { DEFAULT_CONSOLE } from "./context.js";

/** The `msec` command: servers to run, and a client for everything the console's API does. */
export function createProgram(registerServerCommands: (program: Command) => void): Command {
  const program = new Command("msec")
    .description(
      "msec-ts: run services on many machines (RPC, monitoring, gray release, logs, one console)",
    )
    .version(VERSION)
    .addOption(
      new Option("--console <url>", "console to talk to")
        .env("MSEC_CONSOLE")
        .default(DEFAULT_CONSOLE),
    )
    .addOption(
      new Option("--token <token>", "API token (default: the one `msec login` saved)").env(
        "MSEC_TOKEN",
      ),
    )
    .option("--json", "print machine-readable JSON (read commands)")
    .configureHelp({ showGlobalOptions: true })
    .showSuggestionAfterError();
  registerServerCommands(program);
  registerAuthCommands(program);
  registerUserCommands(program);
  registerTokenCommands(program);
  registerAuditCommands(program);
  registerServiceCommands(program);
  registerMetricCommands(program);
  registerAlarmCommands(program);
  registerArtifactCommands(program);
  registerMachineCommands(program);
  registerReleaseCommands(program);
  // Every subcommand reports usage errors through exitOverride instead of exiting.
  const exitOverride = (cmd: Command) => {
    cmd.exitOverride();
    for (const sub of cmd.commands) exitOverride(sub);
  };
  exitOverride(program);
  return program;
}
