import type { Deployment, DesiredState, RunningVersions } from "../core/schemas/machine.js";

/**
 * The agent's decision, as a pure function: from what the console wants on this
 * machine and what runs here, the one action per service that closes the gap.
 */

/** What the agent knows of one service on this machine. */
export interface ServiceNow {
  service: string;
  /** Versions of the process serving now; null when none runs. */
  versions: RunningVersions | null;
  /** The weight it is registered with. */
  weight: number;
  /** The desired revision at which its last change failed; null if none failed. */
  failedAt: number | null;
}

export type Action =
  /** Nothing runs yet, or package, libraries or plugins differ: a new release, zero-drop. */
  | { kind: "deploy"; service: string; deployment: Deployment }
  /** Only config files differ (the weight may too): switch the config, tell the process. */
  | { kind: "config"; service: string; deployment: Deployment }
  /** Only the weight differs: re-register with it. */
  | { kind: "weight"; service: string; deployment: Deployment }
  /** Runs as desired: nothing to do (a failure from before is over). */
  | { kind: "none"; service: string; deployment: Deployment }
  /** Its change failed at this revision or later: leave it alone until the revision moves. */
  | { kind: "hold"; service: string; deployment: Deployment }
  /** Not desired any more: deregister and stop. */
  | { kind: "remove"; service: string };

export function versionsOf(d: Deployment): RunningVersions {
  return {
    package: d.package.version,
    configs: d.configs.map((c) => c.version),
    libs: d.libs.map((l) => l.version),
    plugins: d.plugins.map((p) => p.version),
  };
}

const sameList = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((v, i) => v === b[i]);

/** Same code: package, libraries and plugins (order matters: it is load order). */
export function sameCode(a: RunningVersions, b: RunningVersions): boolean {
  return a.package === b.package && sameList(a.libs, b.libs) && sameList(a.plugins, b.plugins);
}

export function sameVersions(a: RunningVersions, b: RunningVersions): boolean {
  return sameCode(a, b) && sameList(a.configs, b.configs);
}

/** One action per desired service (in the desired order), then removals (sorted). */
export function reconcile(desired: DesiredState, current: readonly ServiceNow[]): Action[] {
  const byName = new Map(current.map((c) => [c.service, c]));
  const actions: Action[] = [];
  for (const deployment of desired.deployments) {
    const service = deployment.service;
    const now = byName.get(service);
    const want = versionsOf(deployment);
    if (now?.versions && sameVersions(now.versions, want)) {
      actions.push({
        kind: now.weight === deployment.weight ? "none" : "weight",
        service,
        deployment,
      });
    } else if (now && now.failedAt !== null && now.failedAt >= desired.revision) {
      actions.push({ kind: "hold", service, deployment });
    } else if (!now?.versions || !sameCode(now.versions, want)) {
      actions.push({ kind: "deploy", service, deployment });
    } else {
      actions.push({ kind: "config", service, deployment });
    }
  }
  const wanted = new Set(desired.deployments.map((d) => d.service));
  const gone = current.filter((c) => !wanted.has(c.service)).map((c) => c.service);
  for (const service of gone.sort()) actions.push({ kind: "remove", service });
  return actions;
}
