/**
 * Pure helpers for a plan's reach: which machines it targets, how they split into
 * batches, and what each machine's deployment becomes.
 *
 * ```ts
 * const r = resolveTargets(spec, { machines, running });   // at execute
 * if (r.ok) splitBatches(r.machines, spec.batches);        // [[m1], [m2, m3], [m4..m10]]
 * nextDeployment(current, spec, 50);                        // the deployment a step writes
 * ```
 */
import type { Deployment } from "../../core/schemas/machine.js";
import type { Labels } from "../../core/schemas/naming.js";
import type { BatchSize, ReleaseSpec } from "../../core/schemas/release.js";
import type { MachineRef } from "./model.js";

/** The fleet as execute sees it. */
export interface Fleet {
  /** Every enrolled machine. */
  machines: readonly (MachineRef & { labels: Labels })[];
  /** The machines that have a deployment of the plan's service. */
  running: readonly MachineRef[];
}

export type TargetResult =
  | { ok: true; machines: MachineRef[] }
  /** `field` is relative to the plan's spec, e.g. `targets.machines.1`. */
  | { ok: false; field: string; message: string };

const byName = (a: MachineRef, b: MachineRef) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
const ref = (m: MachineRef): MachineRef => ({ id: m.id, name: m.name });

export function resolveTargets(
  spec: Pick<ReleaseSpec, "service" | "targets" | "type">,
  fleet: Fleet,
): TargetResult {
  const t = spec.targets;
  let machines: MachineRef[];
  switch (t.kind) {
    case "machines": {
      const known = new Map(fleet.machines.map((m) => [m.name, m]));
      const seen = new Set<string>();
      machines = [];
      for (const [i, name] of t.machines.entries()) {
        const m = known.get(name);
        if (!m) {
          return {
            ok: false,
            field: `targets.machines.${i}`,
            message: `no machine named "${name}"`,
          };
        }
        if (!seen.has(name)) machines.push(ref(m));
        seen.add(name);
      }
      break;
    }
    case "percent": {
      const running = [...fleet.running].sort(byName);
      if (running.length === 0) {
        return {
          ok: false,
          field: "targets.percent",
          message: `no machine runs ${spec.service} yet: name the machines instead`,
        };
      }
      const n = Math.max(1, Math.ceil((t.percent * running.length) / 100));
      machines = running.slice(0, n).map(ref);
      break;
    }
    case "labels": {
      const want = Object.entries(t.labels);
      machines = fleet.machines
        .filter((m) => want.every(([k, v]) => m.labels[k] === v))
        .sort(byName)
        .map(ref);
      if (machines.length === 0) {
        const text = want.map(([k, v]) => `${k}=${v}`).join(",");
        return { ok: false, field: "targets.labels", message: `no machine has labels ${text}` };
      }
      break;
    }
  }
  if (spec.type !== "full") {
    // Only a full release brings a package; the others change a service that is there.
    const running = new Set(fleet.running.map((m) => m.id));
    const missing = machines.find((m) => !running.has(m.id));
    if (missing) {
      return {
        ok: false,
        field: "targets",
        message: `machine "${missing.name}" does not run ${spec.service}: a ${spec.type} release needs the service there already (use a full release)`,
      };
    }
  }
  return { ok: true, machines };
}

/**
 * Split the targets into batches of the given sizes: a number of machines, a
 * percentage of all targets (rounded up, at least one), or the rest. Machines left
 * over after the last size form one more batch; empty batches are dropped.
 */
export function splitBatches(machines: readonly MachineRef[], sizes: readonly BatchSize[]) {
  const total = machines.length;
  const out: MachineRef[][] = [];
  let at = 0;
  for (const size of sizes) {
    if (at >= total) break;
    const n =
      "rest" in size
        ? total - at
        : "machines" in size
          ? size.machines
          : Math.max(1, Math.ceil((size.percent * total) / 100));
    out.push(machines.slice(at, at + n));
    at += n;
  }
  if (at < total) out.push(machines.slice(at));
  return out;
}

export type NextDeployment = { ok: true; deployment: Deployment } | { ok: false; error: string };

/**
 * A machine's deployment after this plan: its current one with the parts of the
 * release type replaced. A full release replaces the package, and the config, lib
 * and plugin sets it names; a config release replaces config files by name (others
 * stay); a libs release replaces the lib and/or plugin set it names.
 */
export function nextDeployment(
  current: Deployment | null,
  spec: Pick<ReleaseSpec, "service" | "type" | "artifacts">,
  weight: number,
): NextDeployment {
  const a = spec.artifacts;
  if (spec.type === "full") {
    if (!a.package) return { ok: false, error: "the plan has no package" };
    return {
      ok: true,
      deployment: {
        service: spec.service,
        package: a.package,
        configs: a.configs ?? current?.configs ?? [],
        libs: a.libs ?? current?.libs ?? [],
        plugins: a.plugins ?? current?.plugins ?? [],
        weight,
      },
    };
  }
  if (!current) return { ok: false, error: `${spec.service} is not deployed there any more` };
  const next: Deployment = { ...current, weight };
  if (spec.type === "code") {
    if (!a.package) return { ok: false, error: "the plan has no package" };
    next.package = a.package;
  } else if (spec.type === "config") {
    const given = a.configs ?? [];
    const names = new Set(given.map((c) => c.name));
    next.configs = [...current.configs.filter((c) => !names.has(c.name)), ...given];
  } else {
    if (a.libs) next.libs = a.libs;
    if (a.plugins) next.plugins = a.plugins;
  }
  return { ok: true, deployment: next };
}
