import { generateKeyPairSync, sign } from "node:crypto";
import { existsSync, readFileSync, realpathSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tar from "tar";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { sha256Hex } from "../core/digest.js";
import { createLogger } from "../core/log.js";
import type { ArtifactRef, Deployment } from "../core/schemas/machine.js";
import { ArtifactSource } from "./artifacts.js";
import { signedMessage } from "./deploy/verify.js";
import { ensureServiceDirs, Layout, msecPackageRoot } from "./layout.js";
import { prepareConfigSet, prepareRelease } from "./release.js";

const { publicKey, privateKey } = generateKeyPairSync("ed25519");

let root: string;
let store: Map<string, Buffer>;
let downloads: number;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "msec-release-"));
  store = new Map();
  downloads = 0;
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A `.tar.gz` of these files. */
async function tarGz(files: Record<string, string>): Promise<Buffer> {
  const dir = await mkdtemp(join(root, "src-"));
  for (const [name, body] of Object.entries(files)) {
    await mkdir(join(dir, name, ".."), { recursive: true });
    await writeFile(join(dir, name), body);
  }
  const out = `${dir}.tar.gz`;
  await tar.c({ gzip: true, portable: true, cwd: dir, file: out }, ["."]);
  const bytes = await readFile(out);
  await rm(dir, { recursive: true });
  await rm(out);
  return bytes;
}

function put(
  kind: string,
  version: number,
  bytes: Buffer,
  name: string | null = null,
): ArtifactRef {
  store.set(`${kind}/${version}`, bytes);
  const sha256 = sha256Hex(bytes);
  return {
    version,
    sha256,
    signature: sign(null, signedMessage(sha256), privateKey).toString("base64"),
    name,
  };
}

function source(): ArtifactSource {
  return new ArtifactSource({
    cacheDir: join(root, ".agent", "cache"),
    signingKey: publicKey.export({ type: "spki", format: "pem" }).toString(),
    log: createLogger({ level: "silent" }),
    api: {
      download: async (_s, kind, version) => {
        downloads++;
        const b = store.get(`${kind}/${version}`);
        if (!b) throw new Error(`no ${kind} ${version}`);
        return b;
      },
    },
  });
}

async function deployment(): Promise<Deployment> {
  return {
    service: "A.B",
    package: put(
      "package",
      7,
      await tarGz({ "msec.json": '{"entry":"main.js","port":7123}', "main.js": "" }),
    ),
    configs: [
      put("config", 2, Buffer.from("a=1"), "app.conf"),
      put("config", 5, Buffer.from("{}"), "x.json"),
    ],
    libs: [put("lib", 3, await tarGz({ "lib.js": "lib" }))],
    plugins: [
      put("plugin", 2, await tarGz({ "p.js": "p2" })),
      put("plugin", 5, await tarGz({ "p.js": "p5" })),
    ],
    weight: 100,
  };
}

describe("release assembly", () => {
  it("builds package + libs + plugins + node_modules/msec under the release name", async () => {
    const paths = new Layout(root).service("A.B");
    await ensureServiceDirs(paths);
    const d = await deployment();
    const r = await prepareRelease(d, paths, source());
    expect(r.release).toBe("7-l3-p2.5");
    expect(r.manifest).toMatchObject({ entry: "main.js", port: 7123 });
    const dir = paths.release(r.release);
    expect(readFileSync(join(dir, "libs", "3", "lib.js"), "utf8")).toBe("lib");
    expect(readFileSync(join(dir, "plugins", "5", "p.js"), "utf8")).toBe("p5");
    expect(realpathSync(join(dir, "node_modules", "msec"))).toBe(realpathSync(msecPackageRoot()));
    expect(await readdir(paths.releases)).toEqual(["7-l3-p2.5"]);
    // Again (a rollback to it): reused, nothing downloaded.
    const n = downloads;
    expect((await prepareRelease(d, paths, source())).release).toBe("7-l3-p2.5");
    expect(downloads).toBe(n);
  });

  it("writes a config set with the files named by the refs", async () => {
    const paths = new Layout(root).service("A.B");
    await ensureServiceDirs(paths);
    const set = await prepareConfigSet(await deployment(), paths, source());
    expect(set).toBe("2.5");
    expect(readFileSync(join(paths.configSet(set), "app.conf"), "utf8")).toBe("a=1");
    expect((await readdir(paths.configSet(set))).sort()).toEqual(["app.conf", "x.json"]);
    const none = await prepareConfigSet({ ...(await deployment()), configs: [] }, paths, source());
    expect(none).toBe("none");
    expect(await readdir(paths.configSet("none"))).toEqual([]);
  });

  it("a tampered plugin refuses the whole release before anything is unpacked", async () => {
    const paths = new Layout(root).service("A.B");
    await ensureServiceDirs(paths);
    const d = await deployment();
    store.set("plugin/5", await tarGz({ "p.js": "evil" }));
    await expect(prepareRelease(d, paths, source())).rejects.toThrow(
      /A\.B plugin version 5 refused/,
    );
    expect(await readdir(paths.releases)).toEqual([]);
    // The same version with other bytes than the release was built from is checked again.
    store.set("plugin/5", await tarGz({ "p.js": "p5" }));
    await prepareRelease(d, paths, source());
    const forged = { ...d, package: { ...d.package, sha256: "0".repeat(64) } };
    await expect(prepareRelease(forged, paths, source())).rejects.toThrow(
      /package version 7 refused/,
    );
    expect(existsSync(join(paths.release("7-l3-p2.5"), "main.js"))).toBe(true);
  });
});
