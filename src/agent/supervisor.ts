import type { ChildProcess } from "node:child_process";
import { statSync } from "node:fs";
import { join } from "node:path";
import { MsecError } from "../core/errors.js";
import type { Logger } from "../core/log.js";
import type { InstanceState, RunningVersions } from "../core/schemas/machine.js";
import { Backoff, CRASH_RESET_MS, CRASH_RESTART } from "./backoff.js";
import { probe, waitHealthy } from "./health.js";
import { tail } from "./logs.js";
import { isSameProcess, procStartTime, signal, spawnService } from "./proc.js";

/** One service process as state.json keeps it: enough to adopt or restart it later. */
export interface InstanceRecord {
  service: string;
  pid: number;
  /** From /proc/<pid>/stat: a pid reused by another process has another start time. */
  startTime: string;
  port: number;
  release: string;
  configSet: string;
  versions: RunningVersions;
  /** Relative path of the script (the manifest's entry). */
  entry: string;
  healthPath: string;
  healthTimeoutMs: number;
  controlKey: string;
  weight: number;
  restarts: number;
  /** Epoch ms of the last (re)start. */
  since: number;
}

export interface InstanceDeps {
  log: Logger;
  host: string;
  /** The release folder of a release name. */
  releaseDir(release: string): string;
  logsDir: string;
  /** The environment of the process (docs/agent-protocol.md, section 4). */
  env(record: InstanceRecord): Record<string, string>;
  /** Called on every change of pid or state (persist, report, tell the registrar). */
  onChange(inst: Instance): void;
  stopTimeoutMs: number;
  /** How often a running process's health is checked (default 5 s). */
  probeIntervalMs?: number;
}

/** Consecutive failed checks before a running process counts as unhealthy. */
const UNHEALTHY_AFTER = 3;

/**
 * One supervised process: started (or adopted after an agent restart), health
 * checked, restarted on a crash with backoff on the same port, stopped with
 * SIGTERM then SIGKILL.
 */
export class Instance {
  state: InstanceState = "starting";
  private child: ChildProcess | undefined;
  private exitReason: string | undefined;
  private exitWaiters: (() => void)[] = [];
  private pollTimer: NodeJS.Timeout | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private supervising = false;
  private stopping = false;
  private detached = false;
  private failedProbes = 0;
  private healthySince = 0;
  private readonly backoff = new Backoff(CRASH_RESTART);
  /** Size of stderr.log when the process started: what it wrote comes after. */
  private stderrFrom = 0;

  constructor(
    readonly record: InstanceRecord,
    private readonly deps: InstanceDeps,
  ) {}

  get service(): string {
    return this.record.service;
  }

  get port(): number {
    return this.record.port;
  }

  get healthUrl(): string {
    return `http://${urlHost(this.deps.host)}:${this.record.port}${this.record.healthPath}`;
  }

  get controlUrl(): string {
    return `http://${urlHost(this.deps.host)}:${this.record.port}/_msec/config`;
  }

  get alive(): boolean {
    return this.exitReason === undefined && this.record.pid > 0;
  }

  /** Spawn and wait for the health check; on failure the process is gone and this throws. */
  async start(): Promise<void> {
    this.spawn();
    try {
      await waitHealthy({
        url: this.healthUrl,
        timeoutMs: this.record.healthTimeoutMs,
        exited: () => this.exitReason,
      });
    } catch (e) {
      const crashed = this.exitReason !== undefined;
      await this.kill();
      const why = (e as Error).message;
      // What it printed before it died (the log is shared with the old process: only then).
      const stderr = crashed
        ? (await tail(join(this.deps.logsDir, "stderr.log"), 400, this.stderrFrom)).trim()
        : "";
      throw new MsecError(
        "unavailable",
        `${this.service} ${this.record.release} on port ${this.record.port} did not become healthy: ${why}${
          stderr ? `; stderr ends with: ${stderr.split("\n").slice(-3).join(" | ")}` : ""
        }`,
      );
    }
    this.markHealthy();
    this.supervise();
  }

  /**
   * Take over a process a previous agent started, if it still runs (same pid and
   * same start time). Returns false when it is gone. Not our child: watched by polling.
   */
  async adopt(): Promise<boolean> {
    if (!isSameProcess(this.record.pid, this.record.startTime)) return false;
    this.exitReason = undefined;
    this.watchByPolling();
    const r = await probe(this.healthUrl, 2000);
    if (r.ok) {
      this.markHealthy();
    } else {
      this.state = "unhealthy";
      this.failedProbes = 1;
    }
    this.supervise();
    return true;
  }

  /** Start supervising a process whose previous copy is gone: restart it now, then as usual. */
  restartNow(): void {
    this.exitReason = "not running";
    this.state = "crashed";
    this.supervising = true;
    this.scheduleRestart(0);
  }

  /** SIGTERM, SIGKILL after the stop timeout; resolves once the process is gone. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.clearTimers();
    if (this.alive) {
      signal(this.record.pid, "SIGTERM");
      this.pollFast();
      if (!(await this.waitExit(this.deps.stopTimeoutMs))) {
        this.deps.log.warn(
          { service: this.service, pid: this.record.pid },
          `no exit ${this.deps.stopTimeoutMs} ms after SIGTERM: SIGKILL`,
        );
        await this.kill();
      }
    }
    this.clearTimers();
    this.state = "stopped";
    this.deps.onChange(this);
  }

  /** The agent is going away: stop watching, leave the process running. */
  detach(): void {
    this.detached = true;
    this.clearTimers();
    this.child?.removeAllListeners("exit");
  }

  private async kill(): Promise<void> {
    if (!this.alive) return;
    const wasStopping = this.stopping;
    this.stopping = true;
    signal(this.record.pid, "SIGKILL");
    this.pollFast();
    await this.waitExit(5000);
    this.stopping = wasStopping;
  }

  private spawn(): void {
    const r = this.record;
    this.exitReason = undefined;
    this.failedProbes = 0;
    const releaseDir = this.deps.releaseDir(r.release);
    this.stderrFrom = fileSize(join(this.deps.logsDir, "stderr.log"));
    const child = spawnService({
      script: join(releaseDir, r.entry),
      cwd: releaseDir,
      env: this.deps.env(r),
      logsDir: this.deps.logsDir,
    });
    this.child = child;
    child.once("error", (e) => this.exited(`could not start: ${e.message}`));
    child.once("exit", (code, sig) =>
      this.exited(sig ? `killed by ${sig}` : `exited with code ${code}`),
    );
    r.pid = child.pid ?? 0;
    r.startTime = (r.pid && procStartTime(r.pid)) || "";
    r.since = Date.now();
    this.state = "starting";
    this.deps.log.info(
      { service: r.service, pid: r.pid, port: r.port, release: r.release },
      "process started",
    );
    this.deps.onChange(this);
  }

  private exited(reason: string): void {
    if (this.exitReason !== undefined || this.detached) return;
    this.exitReason = reason;
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.pollTimer = undefined;
    for (const w of this.exitWaiters.splice(0)) w();
    if (this.stopping || !this.supervising) return;
    // A crash of a supervised process: restart it after a backoff.
    if (this.probeTimer) clearInterval(this.probeTimer);
    this.state = "crashed";
    if (this.healthySince && Date.now() - this.healthySince >= CRASH_RESET_MS) this.backoff.reset();
    this.healthySince = 0;
    this.deps.log.warn(
      { service: this.service, pid: this.record.pid, reason },
      `${this.service} process ${reason}: restarting`,
    );
    this.deps.onChange(this);
    this.scheduleRestart(this.backoff.next());
  }

  private scheduleRestart(delayMs: number): void {
    this.restartTimer = setTimeout(() => void this.restart(), delayMs);
    this.restartTimer.unref();
  }

  private async restart(): Promise<void> {
    if (this.stopping || this.detached) return;
    this.record.restarts++;
    try {
      this.spawn();
    } catch (e) {
      // Could not even start it (log folder gone, out of descriptors): try again later.
      this.deps.log.error({ service: this.service, err: (e as Error).message }, "restart failed");
      this.scheduleRestart(this.backoff.next());
      return;
    }
    try {
      await waitHealthy({
        url: this.healthUrl,
        timeoutMs: this.record.healthTimeoutMs,
        exited: () => this.exitReason,
      });
    } catch (e) {
      if (this.stopping || this.detached) return;
      if (this.exitReason !== undefined) return; // exited(): already scheduled the next try
      this.deps.log.warn(
        { service: this.service, err: (e as Error).message },
        "restarted process is not healthy: killing it",
      );
      signal(this.record.pid, "SIGKILL");
      return; // its exit schedules the next try
    }
    if (this.stopping || this.detached) return;
    this.markHealthy();
    this.supervise();
  }

  private markHealthy(): void {
    this.state = "healthy";
    this.failedProbes = 0;
    this.healthySince = Date.now();
    this.deps.onChange(this);
  }

  /** Periodic health checks of the running process. */
  private supervise(): void {
    this.supervising = true;
    if (this.probeTimer) clearInterval(this.probeTimer);
    this.probeTimer = setInterval(() => void this.check(), this.deps.probeIntervalMs ?? 5000);
    this.probeTimer.unref();
  }

  private async check(): Promise<void> {
    if (!this.alive || this.stopping) return;
    const r = await probe(this.healthUrl, 2000);
    if (!this.alive || this.stopping) return;
    if (r.ok) {
      this.failedProbes = 0;
      if (this.state !== "healthy") {
        this.deps.log.info({ service: this.service }, "healthy again");
        this.markHealthy();
      }
    } else if (++this.failedProbes >= UNHEALTHY_AFTER && this.state === "healthy") {
      this.state = "unhealthy";
      this.deps.log.warn({ service: this.service, why: r.why }, "process is unhealthy");
      this.deps.onChange(this);
    }
  }

  /** Not our child (adopted): notice its exit by polling. */
  private watchByPolling(interval = 1000): void {
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.pollTimer = setInterval(() => {
      if (!isSameProcess(this.record.pid, this.record.startTime)) this.exited("exited");
    }, interval);
    this.pollTimer.unref();
  }

  private pollFast(): void {
    if (!this.child || this.child.exitCode !== null || this.child.signalCode !== null) {
      this.watchByPolling(100);
    }
  }

  private waitExit(ms: number): Promise<boolean> {
    if (!this.alive) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      this.exitWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  private clearTimers(): void {
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.probeTimer) clearInterval(this.probeTimer);
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.pollTimer = this.probeTimer = this.restartTimer = undefined;
  }
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** `::1` → `[::1]` for URLs; 0.0.0.0 (all addresses) is reached on loopback. */
export function urlHost(host: string): string {
  if (host === "0.0.0.0" || host === "") return "127.0.0.1";
  if (host === "::") return "[::1]";
  return host.includes(":") ? `[${host}]` : host;
}
