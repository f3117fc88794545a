import { randomBytes } from "node:crypto";
import { mkdir, rm } from "node:fs/promises";
import { networkInterfaces } from "node:os";
import { join, resolve } from "node:path";
import { MsecError } from "../core/errors.js";
import type { Logger } from "../core/log.js";
import type { Labels } from "../core/schemas/naming.js";
import { AgentCore } from "./agent.js";
import { AgentApi } from "./api.js";
import { ArtifactSource } from "./artifacts.js";
import { loadOrEnroll, loadOrRequestServiceCredential } from "./enroll.js";
import { readJsonFile, writeFileAtomic } from "./fsutil.js";
import { Layout } from "./layout.js";
import { MetricsRelay, postToConsole } from "./metrics/relay.js";
import { isSameProcess, procStartTime } from "./proc.js";
import { InstancesRegistrar } from "./registrar.js";
import type { UnitTiming } from "./service.js";
import { loadState, StateFile } from "./state-file.js";
import { DesiredSync, Reporter } from "./sync.js";

export interface AgentTiming extends UnitTiming {
  /** How often the machine's merged metrics go to the console (60 s; MSEC_METRICS_INTERVAL_MS). */
  metricsIntervalMs: number;
  /** Desired-state long-poll wait (25 s). */
  longPollWaitMs: number;
  /** State report heartbeat (5 s). */
  reportIntervalMs: number;
  /** One name-service heartbeat call for all instances (5 s). */
  heartbeatIntervalMs: number;
  /** TTL instances register with (15 s). */
  ttlSeconds: number;
  /** Log rotation check (30 s), size limit (10 MiB) and files kept (5). */
  logRotateIntervalMs: number;
  logMaxBytes: number;
  logKeep: number;
}

export const DEFAULT_TIMING: AgentTiming = {
  metricsIntervalMs: Number(process.env.MSEC_METRICS_INTERVAL_MS) || 60_000,
  drainWaitMs: 2000,
  stopTimeoutMs: 15_000,
  probeIntervalMs: 5000,
  keepReleases: 3,
  longPollWaitMs: 25_000,
  reportIntervalMs: 5000,
  heartbeatIntervalMs: 5000,
  ttlSeconds: 15,
  logRotateIntervalMs: 30_000,
  logMaxBytes: 10 * 1024 * 1024,
  logKeep: 5,
};

export interface StartAgentOptions {
  /** Default: the URL stored at enrollment, else http://127.0.0.1:7700. */
  consoleUrl?: string | undefined;
  /** One-time join token; needed on the first start of a root only. */
  joinToken?: string | undefined;
  /** Where the agent keeps everything (`<root>/.agent`, `<root>/<L1>/<L2>`). */
  root: string;
  /** Machine name at enrollment (default: the host name). */
  name?: string | undefined;
  labels?: Labels;
  /** Address services listen on (default 127.0.0.1). */
  host?: string;
  /** Host part of the addresses registered in the name service (default: see {@link advertisedHost}). */
  advertise?: string | undefined;
  log: Logger;
  /** The local metrics relay's URL, handed to processes as MSEC_METRICS_URL. */
  metricsUrl?: string | undefined;
  timing?: Partial<AgentTiming>;
}

export interface RunningAgent {
  machine: string;
  root: string;
  /** Stop the agent; the services keep running unless `stopServices`. */
  stop(opts?: { stopServices?: boolean }): Promise<void>;
}

/** `host`, unless it means "all addresses": then the first external IPv4 (else loopback). */
export function advertisedHost(host: string): string {
  if (host !== "0.0.0.0" && host !== "::" && host !== "") return host;
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  }
  return "127.0.0.1";
}

/** One agent per root: `<root>/.agent/agent.pid` names the live one. */
async function lock(layout: Layout): Promise<() => Promise<void>> {
  const prev = (await readJsonFile(layout.lockFile).catch(() => undefined)) as
    | { pid?: number; startTime?: string }
    | undefined;
  if (prev?.pid && prev.pid !== process.pid && isSameProcess(prev.pid, prev.startTime ?? "")) {
    throw new MsecError(
      "failed_precondition",
      `another agent (pid ${prev.pid}) runs on ${layout.root}; stop it first`,
    );
  }
  const mine = { pid: process.pid, startTime: procStartTime(process.pid) ?? "" };
  await writeFileAtomic(layout.lockFile, `${JSON.stringify(mine)}\n`, 0o600);
  return () => rm(layout.lockFile, { force: true });
}

/**
 * The machine's metrics relay, on the loopback port it had before when it can: the
 * processes a restarted agent adopts keep posting to the URL they were started with.
 */
async function startRelay(
  layout: Layout,
  cred: { consoleUrl: string; credential: string },
  timing: AgentTiming,
  log: Logger,
): Promise<{ relay: MetricsRelay; url: string; key: string }> {
  const file = join(layout.agentDir, "relay.json");
  const saved = (await readJsonFile(file).catch(() => undefined)) as
    | { port?: number; key?: string }
    | undefined;
  // Kept with the port: adopted processes hold both in their environment.
  const key = saved?.key ?? randomBytes(24).toString("base64url");
  const make = (port: number) =>
    new MetricsRelay({
      send: postToConsole(cred.consoleUrl, cred.credential),
      spoolDir: join(layout.agentDir, "metrics-spool"),
      intervalMs: timing.metricsIntervalMs,
      log,
      port,
      key,
    });
  let relay = make(saved?.port ?? 0);
  let started: { url: string };
  try {
    started = await relay.start();
  } catch (e) {
    if (!saved?.port) throw e;
    log.warn({ port: saved.port, err: (e as Error).message }, "relay port taken; using a new one");
    relay = make(0);
    started = await relay.start();
  }
  const port = Number(new URL(started.url).port);
  if (port !== saved?.port || key !== saved?.key)
    await writeFileAtomic(file, `${JSON.stringify({ port, key })}\n`, 0o600);
  return { relay, url: started.url, key };
}

/** The environment every service process inherits: the agent's, without its own msec settings. */
function inheritedEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined) continue;
    if (k.startsWith("MSEC_") && k !== "MSEC_LOG_LEVEL") continue;
    env[k] = v;
  }
  return env;
}

/**
 * Start the agent of this machine: enroll (first start) or read the credential,
 * adopt the processes a previous agent left running, then follow the console's
 * desired state. Resolves once it runs; `stop()` leaves the services serving.
 */
export async function startAgent(opts: StartAgentOptions): Promise<RunningAgent> {
  const log = opts.log;
  const timing: AgentTiming = { ...DEFAULT_TIMING, ...opts.timing };
  const layout = new Layout(resolve(opts.root));
  await mkdir(layout.agentDir, { recursive: true, mode: 0o700 });
  const unlock = await lock(layout);
  try {
    const cred = await loadOrEnroll({
      layout,
      consoleUrl: opts.consoleUrl,
      joinToken: opts.joinToken,
      name: opts.name,
      labels: opts.labels ?? {},
      log,
    });
    const api = new AgentApi(cred.consoleUrl, cred.credential);
    const serviceCredential = await loadOrRequestServiceCredential(
      layout,
      () => api.serviceCredential(),
      log,
    );
    const state = await loadState(layout.stateFile, log);
    const registrar = new InstancesRegistrar({
      api: api.naming,
      log,
      ttlSeconds: timing.ttlSeconds,
      intervalMs: timing.heartbeatIntervalMs,
    });
    const artifacts = new ArtifactSource({
      api,
      cacheDir: layout.cacheDir,
      signingKey: cred.signingKey,
      log,
    });

    const relay = opts.metricsUrl ? undefined : await startRelay(layout, cred, timing, log);
    const metricsUrl = opts.metricsUrl ?? relay?.url;

    const host = opts.host ?? "127.0.0.1";
    let reporter: Reporter | undefined;
    const core = new AgentCore({
      layout,
      artifacts,
      registrar,
      log,
      host,
      advertise: opts.advertise ?? advertisedHost(host),
      machine: cred.machine,
      timing,
      stateFile: new StateFile(layout.stateFile),
      baseEnv: () => ({
        ...inheritedEnv(),
        MSEC_CONSOLE: cred.consoleUrl,
        // Reads only: a service's code cannot act as this machine's agent.
        ...(serviceCredential ? { MSEC_TOKEN: serviceCredential } : {}),
        ...(metricsUrl ? { MSEC_METRICS_URL: metricsUrl } : {}),
        ...(relay ? { MSEC_METRICS_KEY: relay.key } : {}),
      }),
      reportChanged: () => reporter?.changed(),
    });
    await core.restore(state);
    reporter = new Reporter({
      api,
      log,
      build: () => core.buildReport(),
      intervalMs: timing.reportIntervalMs,
    });
    registrar.start();
    reporter.start();
    const rotation = setInterval(
      () => void core.rotateLogs(timing.logMaxBytes, timing.logKeep),
      timing.logRotateIntervalMs,
    );
    rotation.unref();
    // Act on the desired state we knew (a restart during an outage still knows it).
    core.kick();
    const sync = new DesiredSync({
      api,
      log,
      after: state.desired?.revision ?? 0,
      waitMs: timing.longPollWaitMs,
      onDesired: (d) => core.setDesired(d),
    });
    sync.start();
    log.info({ machine: cred.machine, root: layout.root }, "agent running");

    let stopping: Promise<void> | undefined;
    return {
      machine: cred.machine,
      root: layout.root,
      stop: (o = {}) => {
        stopping ??= (async () => {
          clearInterval(rotation);
          await sync.stop();
          await core.stop(o);
          registrar.stop();
          reporter?.stop();
          // Last word to the console, short: it may be the one that is down.
          await Promise.race([reporter?.flush(), new Promise((r) => setTimeout(r, 2000))]);
          // Last send attempt; what is left waits on disk for the next start.
          await relay?.relay.stop();
          await unlock();
          log.info({ stopServices: o.stopServices ?? false }, "agent stopped");
        })();
        return stopping;
      },
    };
  } catch (e) {
    await unlock();
    throw e;
  }
}
