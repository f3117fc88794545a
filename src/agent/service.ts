import { randomBytes } from "node:crypto";
import { lstat, rm } from "node:fs/promises";
import { isMsecError, MsecError } from "../core/errors.js";
import type { Logger } from "../core/log.js";
import type { Deployment, RunningVersions, ServiceReport } from "../core/schemas/machine.js";
import type { ArtifactSource } from "./artifacts.js";
import { tellConfigChanged } from "./control.js";
import type { PackageManifest } from "./deploy/manifest.js";
import {
  ensureServiceDirs,
  type Layout,
  linkTarget,
  prune,
  type ServicePaths,
  switchConfig,
  switchCurrent,
} from "./layout.js";
import { freePort } from "./proc.js";
import { type Action, type ServiceNow, versionsOf } from "./reconcile.js";
import type { InstancesRegistrar } from "./registrar.js";
import { prepareConfigSet, prepareRelease } from "./release.js";
import type { ServiceFile } from "./state-file.js";
import { Instance, type InstanceRecord } from "./supervisor.js";

export interface UnitTiming {
  /** After deregistering an old instance, before SIGTERM: clients learn of it (2 s). */
  drainWaitMs: number;
  /** SIGTERM to SIGKILL (15 s). */
  stopTimeoutMs: number;
  /** Health checks of running processes (5 s). */
  probeIntervalMs: number;
  /** Releases (and config sets) kept per service, in use or not (3). */
  keepReleases: number;
}

export interface UnitDeps {
  layout: Layout;
  artifacts: ArtifactSource;
  registrar: InstancesRegistrar;
  log: Logger;
  /** Where processes listen, and the host part of the address they register with. */
  host: string;
  advertise: string;
  machine: string;
  /** The environment every process gets (console, credential, metrics relay). */
  baseEnv(): Record<string, string>;
  timing: UnitTiming;
  /** Something changed: persist and report. */
  changed(): void;
  /** The agent is stopping: a change in flight ends where it is (state.json has it). */
  stopping(): boolean;
}

/** What a process is started from: a release, a config set, the manifest's settings. */
interface ProcessPlan {
  release: string;
  configSet: string;
  versions: RunningVersions;
  weight: number;
  entry: string;
  healthPath: string;
  healthTimeoutMs: number;
  preferredPort: number | undefined;
}

const DEFAULT_HEALTH_TIMEOUT_MS = 20_000;

function planOf(
  release: string,
  manifest: PackageManifest,
  configSet: string,
  d: Deployment,
): ProcessPlan {
  return {
    release,
    configSet,
    versions: versionsOf(d),
    weight: d.weight,
    entry: manifest.entry,
    healthPath: manifest.healthCheck?.path ?? "/health",
    healthTimeoutMs: manifest.healthCheck?.timeoutMs ?? DEFAULT_HEALTH_TIMEOUT_MS,
    preferredPort: manifest.port,
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * One service on this machine: the process serving it, a change in flight, and the
 * last failed change. Actions on one unit run one at a time (the agent awaits them).
 */
export class ServiceUnit {
  current: Instance | null = null;
  /** Processes of a change in flight: a new one not serving yet, old ones draining. */
  others: Instance[] = [];
  target: ServiceReport["target"] = null;
  failed: ServiceFile["failed"] = null;
  readonly paths: ServicePaths;

  constructor(
    readonly service: string,
    private readonly deps: UnitDeps,
  ) {
    this.paths = deps.layout.service(service);
  }

  /** The address it registers with: `<advertise>:<port>`. */
  addr(inst: Instance): string {
    const host = this.deps.advertise;
    return `${host.includes(":") ? `[${host}]` : host}:${inst.port}`;
  }

  now(): ServiceNow {
    return {
      service: this.service,
      versions: this.current?.record.versions ?? null,
      weight: this.current?.record.weight ?? 0,
      failedAt: this.failed?.revision ?? null,
    };
  }

  report(): ServiceReport {
    const c = this.current;
    return {
      service: this.service,
      running: c
        ? {
            versions: c.record.versions,
            state: c.state,
            pid: c.alive ? c.record.pid : null,
            addr: this.addr(c),
            restarts: c.record.restarts,
            since: new Date(c.record.since).toISOString(),
          }
        : null,
      target: this.target,
    };
  }

  toFile(): ServiceFile {
    return {
      current: this.current ? { ...this.current.record } : null,
      others: this.others.map((o) => ({ ...o.record })),
      failed: this.failed,
    };
  }

  /** True when nothing is left of the service (after a removal). */
  get empty(): boolean {
    return !this.current && this.others.length === 0 && !this.failed && !this.target;
  }

  /**
   * After an agent restart: adopt the serving process if it still runs (a healthy one
   * is not restarted), restart it if it does not, and end a change that was in flight.
   */
  async restore(file: ServiceFile): Promise<void> {
    this.failed = file.failed;
    if (file.failed) {
      this.target = { versions: file.failed.versions, phase: "failed", error: file.failed.error };
    }
    for (const rec of file.others) {
      const inst = this.instance(rec);
      if (await inst.adopt()) {
        this.deps.log.info(
          { service: this.service, pid: rec.pid },
          "ending a process of an interrupted change",
        );
        this.others.push(inst);
        // As in a reload: deregister, let clients learn of it, then stop.
        void (async () => {
          await this.deps.registrar.remove(this.service, this.addr(inst));
          await sleep(this.deps.timing.drainWaitMs);
          await inst.stop();
        })().finally(() => this.forget(inst));
      }
    }
    if (!file.current) return;
    const inst = this.instance(file.current);
    if (await inst.adopt()) {
      this.deps.log.info(
        { service: this.service, pid: inst.record.pid, state: inst.state },
        "adopted a running process",
      );
    } else if (await exists(this.paths.release(file.current.release))) {
      await ensureServiceDirs(this.paths);
      this.deps.log.warn(
        { service: this.service, pid: file.current.pid },
        "process is gone: starting it again",
      );
      inst.restartNow();
    } else {
      this.deps.log.warn({ service: this.service }, "process and release are gone");
      return;
    }
    this.current = inst;
    const r = inst.record;
    this.deps.registrar.keep(
      this.service,
      this.addr(inst),
      r.weight,
      this.labels(r),
      inst.state === "healthy" ? "healthy" : "unhealthy",
    );
  }

  /** Carry out one action of the reconcile; a failure is recorded, never thrown. */
  async apply(action: Action, revision: number): Promise<void> {
    if (action.kind === "hold") return;
    if (action.kind === "none") {
      if (this.target || this.failed) {
        this.target = null;
        this.failed = null;
        this.deps.changed();
      }
      return;
    }
    if (action.kind === "remove") return this.remove();
    const d = action.deployment;
    const versions = versionsOf(d);
    this.target = { versions, phase: "deploying", error: null };
    this.deps.changed();
    try {
      if (action.kind === "weight") await this.setWeight(d.weight);
      else if (action.kind === "config" && this.current) await this.reconfigure(d);
      else await this.deploy(d);
      this.target = null;
      this.failed = null;
    } catch (e) {
      if (this.deps.stopping()) {
        // Interrupted, not failed: the next agent tries again.
        this.target = null;
        return;
      }
      const error = isMsecError(e) ? e.message : `internal error: ${(e as Error).message}`;
      this.deps.log.error({ service: this.service, revision, err: error }, "change failed");
      this.target = { versions, phase: "failed", error };
      this.failed = { revision, versions, error };
    }
    this.deps.changed();
  }

  private async deploy(d: Deployment): Promise<void> {
    await ensureServiceDirs(this.paths);
    const { release, manifest } = await prepareRelease(d, this.paths, this.deps.artifacts);
    const configSet = await prepareConfigSet(d, this.paths, this.deps.artifacts);
    await this.reload(planOf(release, manifest, configSet, d));
    await this.tidy();
  }

  /** Only config files changed: switch the link and tell the process; reload if it cannot. */
  private async reconfigure(d: Deployment): Promise<void> {
    const cur = this.current as Instance;
    const configSet = await prepareConfigSet(d, this.paths, this.deps.artifacts);
    await switchConfig(this.paths, configSet);
    if (cur.alive && (await tellConfigChanged(cur.controlUrl, cur.record.controlKey))) {
      cur.record.configSet = configSet;
      cur.record.versions = versionsOf(d);
      this.deps.log.info({ service: this.service, configSet }, "config reloaded in place");
      if (cur.record.weight !== d.weight) await this.setWeight(d.weight);
      this.deps.changed();
    } else {
      const r = cur.record;
      await this.reload(
        {
          release: r.release,
          configSet,
          versions: versionsOf(d),
          weight: d.weight,
          entry: r.entry,
          healthPath: r.healthPath,
          healthTimeoutMs: r.healthTimeoutMs,
          preferredPort: undefined,
        },
        r.configSet,
      );
    }
    await this.tidy();
  }

  private async setWeight(weight: number): Promise<void> {
    const cur = this.current;
    if (!cur) return;
    await this.deps.registrar.setWeight(this.service, this.addr(cur), weight);
    cur.record.weight = weight;
    this.deps.log.info({ service: this.service, weight }, "weight changed");
  }

  /**
   * The zero-drop reload (docs/agent-protocol.md, section 5): new process on a new
   * port → healthy → registered → old deregistered → 2 s → SIGTERM to the old.
   */
  private async reload(plan: ProcessPlan, configBefore?: string): Promise<void> {
    const prevConfig = configBefore ?? (await linkTarget(this.paths.config));
    // The new process reads its config at start, through the link.
    if (prevConfig !== plan.configSet) await switchConfig(this.paths, plan.configSet);
    const revertConfig = async () => {
      if (prevConfig && prevConfig !== plan.configSet) await switchConfig(this.paths, prevConfig);
    };
    const port = await freePort(this.deps.host, plan.preferredPort);
    const inst = this.instance({
      service: this.service,
      pid: 0,
      startTime: "",
      port,
      release: plan.release,
      configSet: plan.configSet,
      versions: plan.versions,
      entry: plan.entry,
      healthPath: plan.healthPath,
      healthTimeoutMs: plan.healthTimeoutMs,
      controlKey: randomBytes(24).toString("base64url"),
      weight: plan.weight,
      restarts: 0,
      since: Date.now(),
    });
    this.others.push(inst);
    try {
      await inst.start();
    } catch (e) {
      this.forget(inst);
      await revertConfig();
      throw e;
    }
    // Stopping: leave the new process in `others`; the next agent ends it.
    if (this.deps.stopping()) throw new MsecError("aborted", "agent stopping");
    const addr = this.addr(inst);
    try {
      await this.deps.registrar.add(this.service, addr, plan.weight, this.labels(inst.record));
    } catch (e) {
      await inst.stop();
      this.forget(inst);
      await revertConfig();
      throw e;
    }
    await switchCurrent(this.paths, plan.release);
    const old = this.current;
    this.current = inst;
    this.others = this.others.filter((o) => o !== inst);
    if (old) this.others.push(old);
    this.deps.changed();
    this.deps.log.info(
      { service: this.service, addr, release: plan.release, pid: inst.record.pid },
      "new process serving",
    );
    if (!old || this.deps.stopping()) return;
    await this.deps.registrar.remove(this.service, this.addr(old));
    await sleep(this.deps.timing.drainWaitMs);
    // Drains in the background: the change is done once the old one got SIGTERM.
    void old.stop().finally(() => this.forget(old));
  }

  /** Deregister, wait, stop every process; keep the logs, drop releases and configs. */
  private async remove(): Promise<void> {
    const all = [...(this.current ? [this.current] : []), ...this.others];
    for (const inst of all) await this.deps.registrar.remove(this.service, this.addr(inst));
    if (all.some((i) => i.alive)) await sleep(this.deps.timing.drainWaitMs);
    await Promise.all(all.map((i) => i.stop()));
    this.current = null;
    this.others = [];
    this.target = null;
    this.failed = null;
    for (const p of [this.paths.current, this.paths.config]) await rm(p, { force: true });
    for (const p of [this.paths.releases, this.paths.configs]) {
      await rm(p, { recursive: true, force: true });
    }
    this.deps.log.info({ service: this.service }, "service removed from this machine");
    this.deps.changed();
  }

  /** Keep the last few releases and config sets (and every one in use). */
  private async tidy(): Promise<void> {
    const running = [...(this.current ? [this.current] : []), ...this.others];
    const keep = this.deps.timing.keepReleases;
    await prune(this.paths.releases, keep, new Set(running.map((i) => i.record.release)));
    await prune(this.paths.configs, keep, new Set(running.map((i) => i.record.configSet)));
    await this.deps.artifacts.prune(this.service);
  }

  /** The agent is stopping: leave every process running, unwatched. */
  detach(): void {
    for (const i of [...(this.current ? [this.current] : []), ...this.others]) i.detach();
  }

  /** Stop every process (for `--stop-services-on-exit`). */
  async stopAll(): Promise<void> {
    const all = [...(this.current ? [this.current] : []), ...this.others];
    for (const inst of all) await this.deps.registrar.remove(this.service, this.addr(inst));
    await Promise.all(all.map((i) => i.stop()));
  }

  private forget(inst: Instance): void {
    const before = this.others.length;
    this.others = this.others.filter((o) => o !== inst);
    if (this.others.length !== before) this.deps.changed();
  }

  private labels(r: InstanceRecord): Record<string, string> {
    return { version: String(r.versions.package), machine: this.deps.machine };
  }

  private instance(record: InstanceRecord): Instance {
    const paths = this.paths;
    return new Instance(record, {
      log: this.deps.log,
      host: this.deps.host,
      releaseDir: (release) => paths.release(release),
      logsDir: paths.logs,
      stopTimeoutMs: this.deps.timing.stopTimeoutMs,
      probeIntervalMs: this.deps.timing.probeIntervalMs,
      env: (r) => ({
        ...this.deps.baseEnv(),
        MSEC_MANAGED: "1",
        MSEC_SERVICE: this.service,
        MSEC_PORT: String(r.port),
        MSEC_HOST: this.deps.host,
        MSEC_CONFIG_DIR: paths.config,
        MSEC_CONTROL_KEY: r.controlKey,
        MSEC_VERSION: String(r.versions.package),
        MSEC_RELEASE_DIR: paths.release(r.release),
      }),
      onChange: (inst) => {
        if (inst === this.current) {
          this.deps.registrar.setHealth(
            this.service,
            this.addr(inst),
            inst.state === "healthy" ? "healthy" : "unhealthy",
          );
        }
        this.deps.changed();
      },
    });
  }
}

async function exists(p: string): Promise<boolean> {
  return lstat(p).then(
    () => true,
    () => false,
  );
}
