import type { AddressInfo } from "node:net";
import type { Logger } from "../core/log.js";
import type { Role } from "../core/roles.js";
import { alarmOptionsFromEnv, createAlarmEvaluator } from "./alarm/index.js";
import { deleteExpiredSessions } from "./auth/sessions.js";
import type { ThrottleState } from "./auth/throttle.js";
import type { ConsoleContext } from "./context.js";
import { API_PREFIX, buildApp } from "./http/app.js";
import { DesiredStateEvents } from "./machines/deployments.js";
import { mintLocalJoinToken } from "./machines/local.js";
import { createRetentionRunner, retentionFromEnv } from "./monitor/retention.js";
import { createNamingService, type NamingOptions, namingOptionsFromEnv } from "./naming/index.js";
import { createReleaseExecutor } from "./release/executor.js";
import { openStore } from "./store/index.js";
import { mintLocalToken } from "./tokens/mint.js";
import { type AdminBootstrap, ensureAdmin } from "./users/bootstrap.js";

export interface ConsoleOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** `sqlite:PATH` or `postgres://...` */
  db: string;
  log: Logger;
  trustProxy?: boolean;
  /** Password for the first-start admin; generated when absent. */
  adminPassword?: string | undefined;
  now?: () => number;
  /** Name service tuning; default: from MSEC_NAMING_* environment variables, else built in. */
  naming?: Partial<NamingOptions>;
}

export interface RunningConsole {
  url: string;
  admin: AdminBootstrap;
  storeLocation: string;
  /**
   * Issue an API token for a local process this console's owner starts (the demo
   * services of `msec up`): replaces any token of that name, and is audited.
   */
  mintToken(opts: { username: string; name: string; role: Role }): Promise<string>;
  /** A one-time join token for an agent started next to this console (audited). */
  mintJoinToken(): Promise<string>;
  /** Stop taking requests, finish the ones in flight, then close the store. */
  close(): Promise<void>;
}

const SESSION_SWEEP_MS = 10 * 60 * 1000;

/** The console's composition root: owns the start and stop order of its parts. */
export async function startConsole(opts: ConsoleOptions): Promise<RunningConsole> {
  const now = opts.now ?? Date.now;
  const namingOptions = opts.naming ?? namingOptionsFromEnv(process.env);
  const alarmOptions = alarmOptionsFromEnv(process.env);
  const retentionSettings = retentionFromEnv(process.env);
  const store = await openStore(opts.db);
  const loginThrottle: ThrottleState = new Map();
  const naming = createNamingService({ store, log: opts.log, now }, namingOptions);
  const desired = new DesiredStateEvents();
  const ctx: ConsoleContext = { store, log: opts.log, now, loginThrottle, naming, desired };
  const retention = createRetentionRunner({
    store,
    log: opts.log,
    now,
    settings: retentionSettings,
  });
  const alarms = createAlarmEvaluator({ store, log: opts.log, now }, alarmOptions);
  const releases = createReleaseExecutor({ store, log: opts.log, now, desired });
  try {
    await naming.start();
    const app = await buildApp(ctx, { trustProxy: opts.trustProxy ?? false });
    await app.listen({ host: opts.host, port: opts.port });
    // Only once the port is ours: a generated password must never be made and lost.
    const admin = await ensureAdmin(store, opts.adminPassword, now());
    const { port } = app.server.address() as AddressInfo;
    const host = opts.host.includes(":") ? `[${opts.host}]` : opts.host;
    const url = `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${port}`;

    const sweep = setInterval(() => {
      deleteExpiredSessions(store.db, now()).catch((err) =>
        opts.log.warn({ err }, "could not delete expired sessions"),
      );
    }, SESSION_SWEEP_MS);
    sweep.unref();
    retention.start();
    await alarms.start();
    await releases.start();

    opts.log.info({ url, api: `${url}${API_PREFIX}`, store: store.location }, "console started");
    return {
      url,
      admin,
      storeLocation: store.location,
      mintToken: (t) => mintLocalToken(store, t, now()),
      mintJoinToken: () => mintLocalJoinToken(store, now()),
      close: async () => {
        clearInterval(sweep);
        await releases.stop();
        // Finishes its sends and gives up the lease while the store is open.
        await alarms.stop();
        await retention.stop();
        // Watch streams never finish on their own: end them before the server waits for requests.
        await naming.stop();
        await app.close();
        await store.close();
        opts.log.info("console stopped");
      },
    };
  } catch (e) {
    await releases.stop();
    await alarms.stop();
    await retention.stop();
    await naming.stop();
    await store.close();
    throw e;
  }
}
