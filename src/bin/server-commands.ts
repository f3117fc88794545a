import { existsSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { type Command, Option } from "commander";
import pino from "pino";
import { UsageError } from "../cli/errors.js";
import { type RunningConsole, startConsole } from "../console/start.js";
import { openStore, parseStoreUrl } from "../console/store/index.js";
import { recoverAdmin } from "../console/users/bootstrap.js";
import { createLogger, LOG_LEVELS, type LogLevel } from "../core/log.js";
import { type RunningDemo, startDemo } from "./demo.js";

interface ServerFlags {
  host: string;
  port: string;
  db?: string;
  dataDir: string;
  logLevel: LogLevel;
  trustProxy?: boolean;
}

function serverOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option("--host <address>", "address to listen on").env("MSEC_HOST").default("127.0.0.1"),
    )
    .addOption(
      new Option("--port <port>", "HTTP port (0 picks a free one)")
        .env("MSEC_PORT")
        .default("7700"),
    )
    .addOption(
      new Option(
        "--db <url>",
        "store: sqlite:PATH or postgres://user@host/db[?schema=NAME]\n(default: sqlite:<data-dir>/msec.db)",
      ).env("MSEC_DB"),
    )
    .addOption(
      new Option("--data-dir <dir>", "where the embedded store lives (and, for `up`, its logs)")
        .env("MSEC_DATA_DIR")
        .default(".msec"),
    )
    .addOption(
      new Option("--log-level <level>", "log level")
        .env("MSEC_LOG_LEVEL")
        .choices(LOG_LEVELS)
        .default("info"),
    )
    .addOption(
      new Option("--trust-proxy", "trust X-Forwarded-* headers from a reverse proxy").env(
        "MSEC_TRUST_PROXY",
      ),
    );
}

export function registerServerCommands(program: Command): void {
  program
    .command("recover-admin")
    .description(
      "set a new password on the `admin` user straight in the store (run on the console's machine; printed once, or MSEC_ADMIN_PASSWORD)",
    )
    .addOption(new Option("--db <url>", "store (as for `msec console`)").env("MSEC_DB"))
    .addOption(
      new Option("--data-dir <dir>", "data directory of the embedded store")
        .env("MSEC_DATA_DIR")
        .default(".msec"),
    )
    .action(async (flags: { db?: string; dataDir: string }) => {
      const db = flags.db ?? `sqlite:${join(flags.dataDir, "msec.db")}`;
      const where = parseStoreUrl(db);
      // Recovering into a store that does not exist would make a new, empty one.
      if (where.engine === "sqlite" && !existsSync(where.path)) {
        throw new UsageError(
          `no store at ${where.path}: pass --db or --data-dir of the console's store`,
        );
      }
      const store = await openStore(db);
      try {
        const r = await recoverAdmin(
          store,
          process.env.MSEC_ADMIN_PASSWORD || undefined,
          Date.now(),
        );
        out(`admin password reset in ${store.location}; every admin session was signed out`);
        out(
          r.generated
            ? `admin password: ${r.password}`
            : "admin password: the one in MSEC_ADMIN_PASSWORD",
        );
      } finally {
        await store.close();
      }
    });

  serverOptions(
    program
      .command("up")
      .description(
        "run the console, a local agent and the demo services (Demo.Echo, Demo.Login, deployed by a release plan) on this machine, for trying msec out",
      )
      .addOption(
        new Option(
          "--demo-port <port>",
          "port of Demo.Echo (Demo.Login gets the next; 0: free ports)",
        )
          .env("MSEC_DEMO_PORT")
          .default("7801"),
      )
      .option("--no-demo", "start no demo services"),
  ).action(async (flags: ServerFlags & { demoPort: string; demo: boolean }) => {
    const logFile = join(flags.dataDir, "logs", "console.log");
    const log = createLogger({
      level: flags.logLevel,
      destination: pino.destination({ dest: logFile, mkdir: true, sync: false }),
    });
    const signals = onSignals();
    const running = await start(flags, log);
    let demo: RunningDemo | undefined;
    if (flags.demo) {
      try {
        demo = await startDemo({
          console: running,
          dataDir: flags.dataDir,
          portBase: Number(flags.demoPort),
          log,
        });
        for (const line of demo.lines) out(`service: ${line}`);
      } catch (e) {
        // The console is what matters; a busy demo port should not take it down.
        out(`demo services not started: ${(e as Error).message} (try --demo-port 0, or --no-demo)`);
      }
    }
    out(`logs:    ${relative(process.cwd(), resolve(logFile)) || logFile}`);
    out("Press Ctrl-C to stop.");
    await signals.until({
      close: async () => {
        // The agent and its services first, so they deregister while the console still listens.
        await demo?.stop();
        await running.close();
      },
    });
  });

  serverOptions(
    program
      .command("console")
      .description(
        "run the console: HTTP API, web UI and the control plane (logs go to stderr as JSON)",
      ),
  ).action(async (flags: ServerFlags) => {
    const signals = onSignals();
    const running = await start(flags, createLogger({ level: flags.logLevel }));
    await signals.until(running);
  });
}

async function start(
  flags: ServerFlags,
  log: ReturnType<typeof createLogger>,
): Promise<RunningConsole> {
  const port = Number(flags.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`--port: "${flags.port}" is not a port number (0-65535)`);
  }
  const running = await startConsole({
    host: flags.host,
    port,
    db: flags.db ?? `sqlite:${join(flags.dataDir, "msec.db")}`,
    log,
    // Commander turns any MSEC_TRUST_PROXY value on; read the usual "off" spellings as off.
    trustProxy:
      (flags.trustProxy ?? false) &&
      !/^(0|false|no|off)?$/i.test(process.env.MSEC_TRUST_PROXY ?? "1"),
    adminPassword: process.env.MSEC_ADMIN_PASSWORD || undefined,
  });
  out(`console: ${running.url}`);
  out(`store:   ${running.storeLocation}`);
  if (running.admin.kind === "created") {
    out(`admin login: ${running.admin.username}`);
    if (running.admin.generated) {
      out(`admin password: ${running.admin.password}`);
      out("  (shown this once and stored hashed; change it with `msec user passwd admin`)");
    } else {
      out("admin password: the one in MSEC_ADMIN_PASSWORD");
    }
  }
  return running;
}

function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

/**
 * Shut down in order on SIGINT or SIGTERM; a second signal exits at once. Handlers go
 * in before anything starts (a signal that arrives while starting is acted on once the
 * server is up); `until(running)` resolves when it has stopped.
 */
function onSignals(): { until(running: Pick<RunningConsole, "close">): Promise<void> } {
  let target: Pick<RunningConsole, "close"> | undefined;
  let pending: NodeJS.Signals | undefined;
  let stopping = false;
  let done: () => void = () => {};
  const finished = new Promise<void>((r) => {
    done = r;
  });
  const stopNow = (signal: NodeJS.Signals, running: Pick<RunningConsole, "close">) => {
    stopping = true;
    process.stderr.write(`${signal}: finishing in-flight requests, then stopping\n`);
    running.close().then(done, (err) => {
      process.stderr.write(`shutdown failed: ${String(err)}\n`);
      process.exit(1);
    });
  };
  const handler = (signal: NodeJS.Signals) => {
    if (stopping || pending) {
      process.stderr.write(`${signal} again: exiting now\n`);
      process.exit(1);
    }
    if (target) stopNow(signal, target);
    else pending = signal;
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
  return {
    until(running) {
      target = running;
      if (pending) stopNow(pending, running);
      return finished;
    },
  };
}
