import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { MachineView, ServiceReport } from "../../src/core/schemas/machine.js";
import type { ReleaseView } from "../../src/core/schemas/release.js";
import { type ConsoleProcess, runCli, startConsoleProcess } from "./console-process.js";
import { killServices, readAgentState, startAgentProcess } from "./deploy.js";
import { freshDatabase, type TestDatabase } from "./engines.js";
import { call, tokenFor, userToken } from "./http.js";
import type { WatchedProcess } from "./process.js";

/**
 * A whole deployment on loopback for end-to-end release tests: a real console process
 * (SQLite file, short executor timers), real `msec agent` processes enrolled with join
 * tokens made by `msec machine token`, each on its own root, and the `msec` CLI run as
 * an operator, an admin or a viewer.
 */
export const ADMIN_PW = "admin-password-1";

/** Short executor timers: plans move in fifths of a second; a restarted console takes over in 1.5 s. */
export const CLUSTER_ENV = {
  MSEC_ADMIN_PASSWORD: ADMIN_PW,
  MSEC_RELEASE_TICK_MS: "200",
  MSEC_RELEASE_LEASE_MS: "1500",
};

/** What the echo package answers (test/support/packages.ts). */
export interface Echo {
  text: string;
  servedBy: string;
  version: string;
  pid: number;
  tag: string;
  config: string;
}

export type Agent = WatchedProcess & { machine: string };

export class Cluster {
  db!: TestDatabase;
  console!: ConsoleProcess;
  admin = "";
  operator = "";
  viewer = "";
  /** MSEC_HOME of the CLI runs, and a folder for files to push. */
  home = "";
  work = "";
  readonly roots: Record<string, string> = {};
  readonly agents: Record<string, Agent> = {};

  get url(): string {
    return this.console.url;
  }

  async start(machines: readonly string[]): Promise<void> {
    this.db = await freshDatabase("sqlite");
    this.console = await startConsoleProcess({ db: this.db.url, env: CLUSTER_ENV });
    this.admin = await tokenFor(this.url, "admin", ADMIN_PW);
    this.operator = await userToken(this.url, this.admin, "olga", "operator");
    this.viewer = await userToken(this.url, this.admin, "vera", "viewer");
    this.home = mkdtempSync(join(tmpdir(), "msec-e2e-home-"));
    this.work = mkdtempSync(join(tmpdir(), "msec-e2e-work-"));
    await Promise.all(
      machines.map(async (m) => {
        const t = await this.msec(["machine", "token", "--json", "--note", m], this.admin);
        if (t.code !== 0) throw new Error(`msec machine token: ${t.stderr}`);
        this.roots[m] = mkdtempSync(join(tmpdir(), `msec-e2e-${m}-`));
        this.agents[m] = await startAgentProcess({
          consoleUrl: this.url,
          root: this.roots[m] as string,
          joinToken: (JSON.parse(t.stdout) as { token: string }).token,
          name: m,
        });
      }),
    );
  }

  async stop(): Promise<void> {
    for (const a of Object.values(this.agents)) await a.stop().catch(() => undefined);
    for (const root of Object.values(this.roots)) killServices(root);
    await this.console?.stop();
    await this.db?.dispose();
    for (const d of [this.home, this.work, ...Object.values(this.roots)])
      if (d) rmSync(d, { recursive: true, force: true });
  }

  /** Run `msec` against the console (as the operator unless told), bounded in time. */
  msec(args: string[], token = this.operator, timeoutMs = 30_000) {
    return runCli(args, {
      env: { MSEC_CONSOLE: this.url, MSEC_TOKEN: token, MSEC_HOME: this.home },
      timeoutMs,
    });
  }

  /** `msec artifact push` of these bytes as the file `name`; returns the version. */
  async push(
    service: string,
    kind: "package" | "config",
    name: string,
    bytes: Uint8Array | string,
  ): Promise<number> {
    const dir = mkdtempSync(join(this.work, "push-"));
    const file = join(dir, name);
    writeFileSync(file, bytes);
    const r = await this.msec(["artifact", "push", service, file, "--kind", kind, "--json"]);
    if (r.code !== 0) throw new Error(`msec artifact push: ${r.stderr}`);
    return (JSON.parse(r.stdout) as { version: number }).version;
  }

  /** `msec release plan SERVICE ARGS --execute`; returns the plan id. */
  async plan(service: string, args: string[]): Promise<number> {
    const r = await this.msec(["release", "plan", service, ...args, "--execute"]);
    if (r.code !== 0) throw new Error(`msec release plan: ${r.stderr}`);
    return Number(r.stdout.trim());
  }

  /** `msec release show ID --watch` (not a terminal: one line per change) to the plan's end. */
  watch(id: number, timeoutMs = 60_000) {
    return this.msec(["release", "show", String(id), "--watch"], this.viewer, timeoutMs);
  }

  /** `msec release show ID --json`. */
  async show(id: number): Promise<ReleaseView> {
    const r = await this.msec(["release", "show", String(id), "--json"], this.viewer);
    if (r.code !== 0) throw new Error(`msec release show: ${r.stderr}`);
    return JSON.parse(r.stdout) as ReleaseView;
  }

  /** The plan over HTTP (cheaper than a CLI process when polled). */
  async release(id: number): Promise<ReleaseView> {
    return (await call(this.url, "GET", `/releases/${id}`, { token: this.viewer }))
      .body as ReleaseView;
  }

  async machine(name: string): Promise<MachineView> {
    return (await call(this.url, "GET", `/machines/${name}`, { token: this.admin }))
      .body as MachineView;
  }

  async report(name: string, service: string): Promise<ServiceReport | undefined> {
    return (await this.machine(name)).services.find((s) => s.service === service);
  }

  async instances(service: string) {
    return ((await call(this.url, "GET", `/services/${service}/instances`, { token: this.admin }))
      .body.instances ?? []) as {
      addr: string;
      weight: number;
      labels: Record<string, string>;
      health: string;
    }[];
  }

  /** Call the instance a machine's agent serves the service with, directly by its port. */
  async direct(machine: string, service: string): Promise<Echo> {
    const port = readAgentState(this.roots[machine] as string).services[service]?.current?.port;
    const res = await fetch(`http://127.0.0.1:${port}/${service}/Echo`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    if (res.status !== 200) throw new Error(`Echo on ${machine}: HTTP ${res.status}`);
    return (await res.json()) as Echo;
  }

  /** Pids of every process running a release of the service under a machine's root. */
  servicePids(machine: string, service: string): number[] {
    const dir = join(this.roots[machine] as string, ...service.split("."), "releases");
    const pids: number[] = [];
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const argv = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
        if (argv.some((a) => a.startsWith(`${dir}/`))) pids.push(Number(entry));
      } catch {
        // gone meanwhile
      }
    }
    return pids.sort((a, b) => a - b);
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
