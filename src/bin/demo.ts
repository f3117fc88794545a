import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { startAgent } from "../agent/index.js";
import { ApiClient } from "../cli/client.js";
import type { RunningConsole } from "../console/start.js";
import { sha256Hex } from "../core/digest.js";
import { MsecError } from "../core/errors.js";
import type { Logger } from "../core/log.js";
import { ArtifactList, ArtifactView } from "../core/schemas/artifact.js";
import { MachineView } from "../core/schemas/machine.js";
import { ServiceView } from "../core/schemas/naming.js";
import { ReleaseView } from "../core/schemas/release.js";
import { DEMO_SERVICES, demoPackage } from "./demo-packages.js";

export interface RunningDemo {
  /** `Demo.Echo at 127.0.0.1:7801`, once each serves. */
  lines: string[];
  /** Stop the agent and the services it runs. */
  stop(): Promise<void>;
}

const MACHINE = "local";
const TERMINAL = new Set(["succeeded", "failed", "aborted", "rolled_back"]);

/**
 * The demo of `msec up`, done the way production does it: a local agent enrolls with
 * the console, the demo services are pushed as code packages, and a release plan
 * deploys each to this machine. A restart re-uses all of it: the agent keeps its
 * credential, and a package already deployed is not released again.
 */
export async function startDemo(opts: {
  console: RunningConsole;
  dataDir: string;
  /** Port of Demo.Echo; Demo.Login gets the next (0: free ports). */
  portBase: number;
  log: Logger;
}): Promise<RunningDemo> {
  const root = resolve(opts.dataDir, "agent");
  const enrolled = existsSync(join(root, ".agent", "credential.json"));
  const agent = await startAgent({
    consoleUrl: opts.console.url,
    joinToken: enrolled ? undefined : await opts.console.mintJoinToken(),
    root,
    name: MACHINE,
    log: opts.log,
    // Fresh curves while trying things out; production agents send once a minute.
    timing: { metricsIntervalMs: Number(process.env.MSEC_METRICS_INTERVAL_MS) || 10_000 },
  });
  const stop = () => agent.stop({ stopServices: true });
  try {
    const api = new ApiClient({
      console: opts.console.url,
      token: await opts.console.mintToken({
        username: "admin",
        name: "msec-up-demo",
        role: "operator",
      }),
    });
    const ports = [opts.portBase, opts.portBase === 0 ? 0 : opts.portBase + 1];
    await Promise.all(
      DEMO_SERVICES.map((d, i) => deploy(api, agent.machine, d.service, d.module, ports[i] ?? 0)),
    );
    const lines: string[] = [];
    for (const d of DEMO_SERVICES)
      lines.push(`${d.service} at ${await firstInstance(api, d.service)}`);
    return { lines, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** Push the demo package if it changed, and release it to this machine unless it runs there. */
async function deploy(
  api: ApiClient,
  machine: string,
  service: string,
  module: "echo" | "login",
  port: number,
): Promise<void> {
  const bytes = await demoPackage(module, port);
  const sha256 = sha256Hex(bytes);
  const enc = encodeURIComponent(service);
  const { artifacts } = await api.get(`/artifacts/${enc}?kind=package`, ArtifactList);
  const latest = artifacts.reduce<ArtifactView | undefined>(
    (a, b) => (a && a.version > b.version ? a : b),
    undefined,
  );
  const version =
    latest?.sha256 === sha256
      ? latest.version
      : (
          await api.postBytes(
            `/artifacts/${enc}/package?note=${encodeURIComponent("demo of msec up")}`,
            bytes,
            ArtifactView,
          )
        ).version;
  const here = await api.get(`/machines/${encodeURIComponent(machine)}`, MachineView);
  if (here.deployments.find((d) => d.service === service)?.package.version === version) return;
  const plan = await api.post(
    "/releases",
    {
      service,
      targets: { kind: "machines", machines: [machine] },
      type: "full",
      versions: { package: version },
      gate: { healthSeconds: 0, approval: false },
      note: "demo of msec up",
    },
    ReleaseView,
  );
  await api.post(`/releases/${plan.id}/execute`, {}, ReleaseView);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const now = await api.get(`/releases/${plan.id}`, ReleaseView);
    if (now.state === "succeeded") return;
    if (TERMINAL.has(now.state))
      throw new MsecError("aborted", `release ${plan.id} of ${service} ${now.state}: ${now.error}`);
    if (Date.now() > deadline)
      throw new MsecError(
        "deadline_exceeded",
        `release ${plan.id} of ${service} still ${now.state}`,
      );
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** The address of the service's first registered instance (it registers once healthy). */
async function firstInstance(api: ApiClient, service: string): Promise<string> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const view = await api
      .get(`/services/${encodeURIComponent(service)}/instances`, ServiceView)
      .catch(() => undefined);
    const inst = view?.instances.find((i) => i.health === "healthy");
    if (inst) return inst.addr;
    if (Date.now() > deadline)
      throw new MsecError("deadline_exceeded", `${service} did not register in 30 s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
