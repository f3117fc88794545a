import { randomBytes } from "node:crypto";
import { lstat, mkdir, readFile, rename, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { MsecError } from "../core/errors.js";
import { ArtifactFileName } from "../core/schemas/artifact.js";
import type { Deployment } from "../core/schemas/machine.js";
import type { ArtifactSource } from "./artifacts.js";
import { MANIFEST_FILE, type PackageManifest, parseManifest } from "./deploy/manifest.js";
import { unpackArchive, unpackPackage } from "./deploy/unpack.js";
import { configSetName, msecPackageRoot, releaseName, type ServicePaths } from "./layout.js";
import { versionsOf } from "./reconcile.js";

/**
 * Turning a deployment into folders: the release (package + libs/<v>/ + plugins/<v>/
 * + node_modules/msec) and the config set. Every artifact is verified before the
 * first byte is unpacked; a folder appears under its final name only when complete.
 */

async function exists(p: string): Promise<boolean> {
  return lstat(p).then(
    () => true,
    () => false,
  );
}

const buildName = () => `.build-${randomBytes(6).toString("hex")}`;

/** Inside a release: the sha256 of the artifacts it was built from. */
const SOURCE_FILE = ".msec-release.json";

function sourceOf(d: Deployment): string {
  return JSON.stringify({
    package: d.package.sha256,
    libs: d.libs.map((r) => r.sha256),
    plugins: d.plugins.map((r) => r.sha256),
  });
}

export async function prepareRelease(
  d: Deployment,
  paths: ServicePaths,
  artifacts: ArtifactSource,
): Promise<{ release: string; manifest: PackageManifest }> {
  const release = releaseName(versionsOf(d));
  const dir = paths.release(release);
  const builtFrom = await readFile(join(dir, SOURCE_FILE), "utf8").catch(() => undefined);
  if (builtFrom === sourceOf(d)) {
    // Built from the very same verified artifacts by an earlier deploy: a rollback reuses it.
    return { release, manifest: parseManifest(await readFile(join(dir, MANIFEST_FILE), "utf8")) };
  }
  // Download and verify everything first: a refused artifact leaves nothing on disk.
  const pkg = await artifacts.get(d.service, "package", d.package);
  const libs = await Promise.all(d.libs.map((r) => artifacts.get(d.service, "lib", r)));
  const plugins = await Promise.all(d.plugins.map((r) => artifacts.get(d.service, "plugin", r)));

  const build = join(paths.releases, buildName());
  try {
    const manifest = await unpackPackage(pkg, build);
    for (const [i, bytes] of libs.entries()) {
      await mkdir(join(build, "libs"), { recursive: true });
      await unpackArchive(bytes, join(build, "libs", String(d.libs[i]?.version)));
    }
    for (const [i, bytes] of plugins.entries()) {
      await mkdir(join(build, "plugins"), { recursive: true });
      await unpackArchive(bytes, join(build, "plugins", String(d.plugins[i]?.version)));
    }
    // A package that does not bundle msec gets the agent's own copy.
    const link = join(build, "node_modules", "msec");
    if (!(await exists(link))) {
      await mkdir(join(build, "node_modules"), { recursive: true });
      await symlink(msecPackageRoot(), link);
    }
    await writeFile(join(build, SOURCE_FILE), sourceOf(d));
    // Same versions with other bytes (a console that lost its store): the new build wins.
    if (await exists(dir)) await rm(dir, { recursive: true, force: true });
    await rename(build, dir);
    return { release, manifest };
  } catch (e) {
    await rm(build, { recursive: true, force: true });
    throw e;
  }
}

export async function prepareConfigSet(
  d: Deployment,
  paths: ServicePaths,
  artifacts: ArtifactSource,
): Promise<string> {
  const set = configSetName(d.configs.map((c) => c.version));
  const dir = paths.configSet(set);
  if (await exists(dir)) return set;
  const files: { name: string; bytes: Buffer }[] = [];
  for (const ref of d.configs) {
    const name = ArtifactFileName.safeParse(ref.name);
    if (!name.success) {
      throw new MsecError(
        "invalid_argument",
        `config version ${ref.version} of ${d.service} has no usable file name (${JSON.stringify(ref.name)})`,
      );
    }
    files.push({ name: name.data, bytes: await artifacts.get(d.service, "config", ref) });
  }
  const build = join(paths.configs, buildName());
  try {
    await mkdir(build, { recursive: true });
    for (const f of files) await writeFile(join(build, f.name), f.bytes, { mode: 0o644 });
    await rename(build, dir);
  } catch (e) {
    await rm(build, { recursive: true, force: true });
    throw e;
  }
  return set;
}
