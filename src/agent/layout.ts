import { existsSync, readFileSync } from "node:fs";
import { lstat, mkdir, readdir, readlink, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { MsecError } from "../core/errors.js";
import type { RunningVersions } from "../core/schemas/machine.js";
import { switchSymlink } from "./fsutil.js";

/**
 * Where things live on the machine (docs/agent-protocol.md, section 3):
 *
 *   <root>/.agent/credential.json, state.json, cache/
 *   <root>/<L1>/<L2>/releases/<release>/   current -> releases/<release>
 *   <root>/<L1>/<L2>/configs/<set>/<name>  config  -> configs/<set>
 *   <root>/<L1>/<L2>/logs/stdout.log, stderr.log
 */
export class Layout {
  constructor(readonly root: string) {}

  get agentDir(): string {
    return join(this.root, ".agent");
  }
  get credentialFile(): string {
    return join(this.agentDir, "credential.json");
  }
  get stateFile(): string {
    return join(this.agentDir, "state.json");
  }
  get lockFile(): string {
    return join(this.agentDir, "agent.pid");
  }
  get cacheDir(): string {
    return join(this.agentDir, "cache");
  }

  service(name: string): ServicePaths {
    const [l1, l2] = name.split(".");
    if (!l1 || !l2) throw new MsecError("invalid_argument", `service name ${name} is not L1.L2`);
    const dir = join(this.root, l1, l2);
    return {
      dir,
      releases: join(dir, "releases"),
      release: (release: string) => join(dir, "releases", release),
      current: join(dir, "current"),
      configs: join(dir, "configs"),
      configSet: (set: string) => join(dir, "configs", set),
      config: join(dir, "config"),
      logs: join(dir, "logs"),
    };
  }
}

export interface ServicePaths {
  dir: string;
  releases: string;
  release(release: string): string;
  current: string;
  configs: string;
  configSet(set: string): string;
  config: string;
  logs: string;
}

/** `7`, or `7-l3-p2.5` with libraries [3] and plugins [2, 5]. */
export function releaseName(v: Pick<RunningVersions, "package" | "libs" | "plugins">): string {
  let name = String(v.package);
  if (v.libs.length > 0) name += `-l${v.libs.join(".")}`;
  if (v.plugins.length > 0) name += `-p${v.plugins.join(".")}`;
  return name;
}

/** `3.5` for config versions [3, 5]; `none` when the service has no config files. */
export function configSetName(configs: readonly number[]): string {
  return configs.length === 0 ? "none" : configs.join(".");
}

/** Point `current` at a release (relative link, so the root may move). */
export function switchCurrent(paths: ServicePaths, release: string): Promise<void> {
  return switchSymlink(paths.current, join("releases", release));
}

/** Point `config` at a config set. */
export function switchConfig(paths: ServicePaths, set: string): Promise<void> {
  return switchSymlink(paths.config, join("configs", set));
}

/** The last path segment a link points at, or undefined when there is no link. */
export async function linkTarget(link: string): Promise<string | undefined> {
  try {
    const t = await readlink(link);
    return t.split("/").filter(Boolean).pop();
  } catch {
    return undefined;
  }
}

/**
 * Removes all but the `keep` newest entries of a folder (by modification time),
 * never one named in `inUse`; leftovers of interrupted builds (`*.tmp-*`, `.build-*`)
 * go too. Returns the names removed.
 */
export async function prune(
  dir: string,
  keep: number,
  inUse: ReadonlySet<string>,
): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const stale = names.filter((n) => n.includes(".tmp-") || n.startsWith(".build-"));
  const real = names.filter((n) => !stale.includes(n));
  const dated = await Promise.all(
    real.map(async (n) => ({ n, t: (await lstat(join(dir, n))).mtimeMs })),
  );
  dated.sort((a, b) => b.t - a.t || b.n.localeCompare(a.n));
  const old = dated.slice(keep).map((d) => d.n);
  const removed = [...stale, ...old].filter((n) => !inUse.has(n));
  for (const n of removed) await rm(join(dir, n), { recursive: true, force: true });
  return removed;
}

/** Make the folders of a service (idempotent). */
export async function ensureServiceDirs(paths: ServicePaths): Promise<void> {
  await mkdir(paths.releases, { recursive: true });
  await mkdir(paths.configs, { recursive: true });
  await mkdir(paths.logs, { recursive: true });
}

let msecRoot: string | undefined;

/**
 * The folder of the `msec` package this agent runs from: walk up from this file to
 * the package.json named "msec". Releases link `node_modules/msec` to it.
 */
export function msecPackageRoot(): string {
  if (msecRoot) return msecRoot;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pj = join(dir, "package.json");
    if (existsSync(pj)) {
      try {
        if ((JSON.parse(readFileSync(pj, "utf8")) as { name?: unknown }).name === "msec") {
          msecRoot = dir;
          return dir;
        }
      } catch {
        // not JSON: keep walking up
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new MsecError("internal", "cannot find the msec package root");
    dir = up;
  }
}
