import { type Command, Option } from "commander";
import { startAgent } from "../agent/index.js";
import { labelArg } from "../cli/args.js";
import { UsageError } from "../cli/errors.js";
import { createLogger, LOG_LEVELS, type LogLevel } from "../core/log.js";
import { JOIN_TOKEN_PREFIX } from "../core/schemas/machine.js";
import { Labels } from "../core/schemas/naming.js";

interface AgentFlags {
  root: string;
  name?: string;
  label: Record<string, string>;
  host: string;
  advertise?: string;
  logLevel: LogLevel;
  stopServicesOnExit?: boolean;
}

/** The labels given with --label, checked as the console will check them. */
function checkLabels(labels: Record<string, string>): Labels {
  const parsed = Labels.safeParse(labels);
  if (!parsed.success) throw new UsageError(`--label: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

/** `msec agent --console URL --token JOIN_TOKEN --root DIR`: the per-machine agent. */
export function registerAgentCommand(program: Command): void {
  program
    .command("agent")
    .description(
      "run this machine's agent: enroll with a join token (first start; --console, --token), then deploy and supervise what the console says",
    )
    .requiredOption(
      "--root <dir>",
      "where the agent keeps its credential, state, releases and logs",
    )
    .option("--name <name>", "machine name at enrollment (default: the host name)")
    .option("--label <k=v>", "machine label at enrollment (repeatable)", labelArg, {})
    .addOption(new Option("--host <address>", "address services listen on").default("127.0.0.1"))
    .option(
      "--advertise <host>",
      "host in the addresses registered in the name service (default: --host, or the first external IPv4 when --host is 0.0.0.0)",
    )
    .addOption(
      new Option("--log-level <level>", "log level")
        .env("MSEC_LOG_LEVEL")
        .choices(LOG_LEVELS)
        .default("info"),
    )
    .option("--stop-services-on-exit", "stop the services too when the agent stops (msec up)")
    .addHelpText(
      "after",
      "\nThe global --console and --token give the console and the one-time join token;\nlater starts read <root>/.agent/credential.json and need no token.",
    )
    .action(async (flags: AgentFlags, cmd: Command) => {
      const g = cmd.optsWithGlobals<{ console?: string; token?: string }>();
      const consoleSource = cmd.getOptionValueSourceWithGlobals("console");
      const tokenSource = cmd.getOptionValueSourceWithGlobals("token");
      // MSEC_TOKEN in the environment is usually a user's API token: only a join token counts.
      const joinToken =
        g.token && (tokenSource === "cli" || g.token.startsWith(JOIN_TOKEN_PREFIX))
          ? g.token
          : undefined;
      const log = createLogger({ level: flags.logLevel, name: "msec-agent" });
      const agent = await startAgent({
        consoleUrl: consoleSource === "default" ? undefined : g.console?.replace(/\/+$/, ""),
        joinToken,
        root: flags.root,
        name: flags.name,
        labels: checkLabels(flags.label),
        host: flags.host,
        advertise: flags.advertise,
        log,
      });
      const stopServices = flags.stopServicesOnExit ?? false;
      // Handlers first: whoever reads the line below may signal us at once.
      const stopped = untilSignal(stopServices, async () => {
        await agent.stop({ stopServices });
        await new Promise<void>((resolve) => log.flush(() => resolve()));
      });
      process.stdout.write(`agent: ${agent.machine} (root ${agent.root})\n`);
      await stopped;
      // Work cut short by the stop (a health check in flight) must not keep us alive.
      process.exit(0);
    });
}

/** Run until SIGINT or SIGTERM, then stop; a second signal exits at once. */
function untilSignal(stopServices: boolean, close: () => Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) process.exit(1);
      stopping = true;
      process.stderr.write(
        `${signal}: agent stopping (${stopServices ? "services too" : "services keep running"})\n`,
      );
      close().then(resolve, (err) => {
        process.stderr.write(`agent stop failed: ${String(err)}\n`);
        process.exit(1);
      });
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
}
