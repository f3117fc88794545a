import { readFileSync } from "node:fs";
import { join } from "node:path";
import { setDeployment } from "../../src/console/machines/deployments.js";
import { openStore } from "../../src/console/store/index.js";
import type { Deployment } from "../../src/core/schemas/machine.js";
import { CLI } from "./console-process.js";
import { startWatched, type WatchedProcess } from "./process.js";

/**
 * Put a deployment on a machine without a release plan: open the console's SQLite
 * file from the test process (WAL allows a second writer) and set it. The running
 * console's long-poll re-reads revisions every second, so the agent picks it up.
 * Returns the machine's new desired revision.
 */
export async function setMachineDeployment(
  dbUrl: string,
  machine: string,
  service: string,
  deployment: Deployment | null,
): Promise<number> {
  const store = await openStore(dbUrl);
  try {
    // Read outside the transaction: a deferred SQLite transaction that reads and then
    // writes fails at once (SQLITE_BUSY) when the console wrote in between.
    const row = await store.db
      .selectFrom("machines")
      .select("id")
      .where("name", "=", machine)
      .executeTakeFirst();
    if (!row) throw new Error(`no machine ${machine}`);
    for (let attempt = 1; ; attempt++) {
      try {
        return await store.transaction((tx) =>
          setDeployment(tx, Number(row.id), service, deployment, Date.now()),
        );
      } catch (e) {
        if ((e as { code?: string }).code !== "SQLITE_BUSY" || attempt >= 20) throw e;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  } finally {
    await store.close();
  }
}

/** A real `msec agent` process, started and waited for until it runs. */
export async function startAgentProcess(opts: {
  consoleUrl: string;
  root: string;
  joinToken?: string;
  name?: string;
  args?: string[];
}): Promise<WatchedProcess & { machine: string }> {
  const p = await startWatched(
    "agent",
    [
      CLI,
      "agent",
      "--console",
      opts.consoleUrl,
      "--root",
      opts.root,
      ...(opts.joinToken ? ["--token", opts.joinToken] : []),
      ...(opts.name ? ["--name", opts.name] : []),
      "--log-level",
      "info",
      ...(opts.args ?? []),
    ],
    // MSEC_TOKEN of the environment must not pass for a join token.
    { ready: /^agent: (\S+) /m, env: { MSEC_TOKEN: "" }, timeoutMs: 20_000 },
  );
  return { ...p, machine: p.ready[1] as string };
}

/** The agent's state.json (the processes it runs: pid, port, versions). */
export function readAgentState(root: string): AgentStateView {
  try {
    return JSON.parse(readFileSync(join(root, ".agent", "state.json"), "utf8")) as AgentStateView;
  } catch {
    return { appliedRevision: 0, services: {} };
  }
}

export interface AgentStateView {
  appliedRevision: number;
  services: Record<
    string,
    {
      current: { pid: number; port: number; versions: { package: number } } | null;
      others: { pid: number }[];
    }
  >;
}

/** SIGKILL every service process the agent on this root left running (test cleanup). */
export function killServices(root: string): void {
  const s = readAgentState(root);
  for (const svc of Object.values(s.services)) {
    for (const p of [...(svc.current ? [svc.current] : []), ...svc.others]) {
      try {
        process.kill(-p.pid, "SIGKILL");
      } catch {
        try {
          process.kill(p.pid, "SIGKILL");
        } catch {
          // gone
        }
      }
    }
  }
}
