import type { AddressInfo } from "node:net";
import type { Logger } from "../core/log.js";
import { deleteExpiredSessions } from "./auth/sessions.js";
import type { ThrottleState } from "./auth/throttle.js";
import type { ConsoleContext } from "./context.js";
import { API_PREFIX, buildApp } from "./http/app.js";
import { openStore } from "./store/index.js";
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
}

export interface RunningConsole {
  url: string;
  admin: AdminBootstrap;
  storeLocation: string;
  /** Stop taking requests, finish the ones in flight, then close the store. */
  close(): Promise<void>;
}

const SESSION_SWEEP_MS = 10 * 60 * 1000;

/** The console's composition root: owns the start and stop order of its parts. */
export async function startConsole(opts: ConsoleOptions): Promise<RunningConsole> {
  const now = opts.now ?? Date.now;
  const store = await openStore(opts.db);
  const loginThrottle: ThrottleState = new Map();
  const ctx: ConsoleContext = { store, log: opts.log, now, loginThrottle };
  try {
    const admin = await ensureAdmin(store, opts.adminPassword, now());
    const app = await buildApp(ctx, { trustProxy: opts.trustProxy ?? false });
    await app.listen({ host: opts.host, port: opts.port });
    const { port } = app.server.address() as AddressInfo;
    const host = opts.host.includes(":") ? `[${opts.host}]` : opts.host;
    const url = `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${port}`;

    const sweep = setInterval(() => {
      deleteExpiredSessions(store.db, now()).catch((err) =>
        opts.log.warn({ err }, "could not delete expired sessions"),
      );
    }, SESSION_SWEEP_MS);
    sweep.unref();

    opts.log.info({ url, api: `${url}${API_PREFIX}`, store: store.location }, "console started");
    return {
      url,
      admin,
      storeLocation: store.location,
      close: async () => {
        clearInterval(sweep);
        await app.close();
        await store.close();
        opts.log.info("console stopped");
      },
    };
  } catch (e) {
    await store.close();
    throw e;
  }
}
