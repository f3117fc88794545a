import {
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rm,
  stat,
  symlink,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import * as tar from "tar";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MsecError } from "../../core/errors.js";
import { unpackArchive, unpackPackage } from "./unpack.js";

const MANIFEST = JSON.stringify({
  entry: "server.js",
  port: 8080,
  healthCheck: { path: "/healthz" },
});

let work: string;
beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), "msec-unpack-"));
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

/** Packs a real folder with the `tar` package, as a build would. */
async function packDir(dir: string): Promise<Buffer> {
  const out = join(work, `pkg-${Math.random().toString(36).slice(2)}.tar.gz`);
  await tar.c({ gzip: true, portable: true, cwd: dir, file: out }, ["."]);
  return readFile(out);
}

async function srcDir(files: Record<string, string> = {}): Promise<string> {
  const dir = await mkdtemp(join(work, "src-"));
  const all = { "msec.json": MANIFEST, "server.js": "console.log('hi')\n", ...files };
  for (const [name, body] of Object.entries(all)) {
    await mkdir(join(dir, name, ".."), { recursive: true });
    await writeFile(join(dir, name), body);
  }
  return dir;
}

interface RawEntry {
  path: string;
  type?:
    | "File"
    | "Directory"
    | "SymbolicLink"
    | "Link"
    | "CharacterDevice"
    | "BlockDevice"
    | "FIFO";
  body?: string;
  linkpath?: string;
  mode?: number;
}

/**
 * A hand-assembled but valid ustar stream (headers encoded by `tar.Header`), for the
 * names `tar.c` would never write: absolute paths, `..`, device files.
 */
function rawTarGz(entries: RawEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const body = Buffer.from(e.body ?? "");
    const type = e.type ?? "File";
    const header = new tar.Header({
      path: e.path,
      type,
      mode: e.mode ?? (type === "Directory" ? 0o755 : 0o644),
      uid: 0,
      gid: 0,
      size: type === "File" ? body.length : 0,
      mtime: new Date(0),
      ...(e.linkpath !== undefined ? { linkpath: e.linkpath } : {}),
      ...(type === "CharacterDevice" || type === "BlockDevice" ? { devmaj: 1, devmin: 3 } : {}),
    });
    const block = Buffer.alloc(512);
    header.encode(block, 0);
    blocks.push(block);
    if (type === "File" && body.length > 0) {
      const padded = Buffer.alloc(Math.ceil(body.length / 512) * 512);
      body.copy(padded);
      blocks.push(padded);
    }
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}

const base: RawEntry[] = [
  { path: "msec.json", body: MANIFEST },
  { path: "server.js", body: "ok" },
];

async function expectRefused(
  archive: Buffer,
  match: RegExp,
  limits?: { maxBytes: number; maxEntries: number },
) {
  const dest = join(work, "out", "releases", "v1");
  const err = await unpackPackage(archive, dest, limits).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(MsecError);
  expect((err as MsecError).code).toBe("invalid_argument");
  expect((err as MsecError).message).toMatch(match);
  // Nothing left behind: neither the destination nor a temporary sibling.
  const parent = join(work, "out", "releases");
  const left = await readdir(parent).catch(() => [] as string[]);
  expect(left).toEqual([]);
  return err as MsecError;
}

describe("unpackPackage", () => {
  it("the hand-assembled archives are real tar streams the tar package lists", async () => {
    const file = join(work, "raw.tar.gz");
    await writeFile(
      file,
      rawTarGz([...base, { path: "../evil", body: "x" }, { path: "/abs", body: "y" }]),
    );
    const seen: string[] = [];
    await tar.t({ file, onReadEntry: (e) => void seen.push(e.path) });
    expect(seen).toEqual(["msec.json", "server.js", "../evil", "/abs"]);
  });

  it("unpacks a good package with its files, an inside symlink and the manifest", async () => {
    const dir = await srcDir({ "lib/util.js": "exports.x = 1\n" });
    await symlink("lib/util.js", join(dir, "util-link.js"));
    await symlink("../server.js", join(dir, "lib", "server-link.js"));
    const archive = await packDir(dir);
    const dest = join(work, "releases", "v1");
    const manifest = await unpackPackage(archive, dest);
    expect(manifest).toEqual({ entry: "server.js", port: 8080, healthCheck: { path: "/healthz" } });
    expect(await readFile(join(dest, "server.js"), "utf8")).toBe("console.log('hi')\n");
    expect(await readFile(join(dest, "lib", "util.js"), "utf8")).toBe("exports.x = 1\n");
    expect(await readlink(join(dest, "util-link.js"))).toBe("lib/util.js");
    expect(await readFile(join(dest, "lib", "server-link.js"), "utf8")).toBe("console.log('hi')\n");
    expect((await readdir(join(work, "releases"))).sort()).toEqual(["v1"]);
  });

  it("accepts a file path and fills in the default health check path", async () => {
    const dir = await srcDir({
      "msec.json": JSON.stringify({ entry: "server.js", healthCheck: {} }),
    });
    const file = join(work, "pkg.tar.gz");
    await writeFile(file, await packDir(dir));
    const manifest = await unpackPackage(file, join(work, "releases", "v2"));
    expect(manifest.healthCheck?.path).toBe("/health");
  });

  it("drops setuid, setgid and sticky bits", async () => {
    const dest = join(work, "modes");
    await unpackPackage(rawTarGz([...base, { path: "suid", body: "x", mode: 0o6755 }]), dest);
    expect((await stat(join(dest, "suid"))).mode & 0o7000).toBe(0);
  });

  it("refuses an existing destination and leaves it alone", async () => {
    const dest = join(work, "releases", "v1");
    await mkdir(dest, { recursive: true });
    await writeFile(join(dest, "keep"), "x");
    const err = await unpackPackage(rawTarGz(base), dest).catch((e: unknown) => e);
    expect((err as MsecError).code).toBe("already_exists");
    expect(await readFile(join(dest, "keep"), "utf8")).toBe("x");
  });

  it("refuses an absolute path", async () => {
    await expectRefused(
      rawTarGz([...base, { path: "/tmp/evil", body: "x" }]),
      /'\/tmp\/evil'.*absolute/,
    );
  });

  it("refuses a '..' component", async () => {
    await expectRefused(rawTarGz([...base, { path: "../evil", body: "x" }]), /'\.\.\/evil'/);
    await expectRefused(
      rawTarGz([...base, { path: "a/../../evil", body: "x" }]),
      /'a\/\.\.\/\.\.\/evil'/,
    );
  });

  it("refuses a symlink to /etc/passwd (packed from a real folder)", async () => {
    const dir = await srcDir();
    await symlink("/etc/passwd", join(dir, "passwd"));
    await expectRefused(await packDir(dir), /link '.*passwd' points outside.*\/etc\/passwd/);
  });

  it("refuses a relative symlink that climbs out", async () => {
    const dir = await srcDir({ "lib/a.js": "" });
    await symlink("../../secret", join(dir, "lib", "up"));
    await expectRefused(await packDir(dir), /link 'lib\/up' points outside/);
  });

  it("refuses a symlink chain that escapes through another link", async () => {
    const archive = rawTarGz([
      ...base,
      { path: "here", type: "SymbolicLink", linkpath: "." },
      { path: "out", type: "SymbolicLink", linkpath: "here/.." },
    ]);
    await expectRefused(archive, /link 'out' goes through the symbolic link 'here'/);
  });

  it("refuses a file written through a symlink", async () => {
    const archive = rawTarGz([
      ...base,
      { path: "dir", type: "SymbolicLink", linkpath: "server.js" },
      { path: "dir/x", body: "x" },
    ]);
    await expectRefused(archive, /'dir\/x' lies under the symbolic link 'dir'/);
  });

  it("refuses a hard link that leaves the folder, allows one inside", async () => {
    await expectRefused(
      rawTarGz([...base, { path: "hl", type: "Link", linkpath: "../../etc/passwd" }]),
      /link 'hl' points outside/,
    );
    await expectRefused(
      rawTarGz([...base, { path: "hl", type: "Link", linkpath: "/etc/passwd" }]),
      /link 'hl' points outside/,
    );
    const dest = join(work, "ok");
    await unpackPackage(
      rawTarGz([...base, { path: "hl", type: "Link", linkpath: "server.js" }]),
      dest,
    );
    expect(await readFile(join(dest, "hl"), "utf8")).toBe("ok");
  });

  it("refuses device and FIFO entries", async () => {
    await expectRefused(
      rawTarGz([...base, { path: "null", type: "CharacterDevice" }]),
      /'null' is a CharacterDevice/,
    );
    await expectRefused(
      rawTarGz([...base, { path: "sda", type: "BlockDevice" }]),
      /'sda' is a BlockDevice/,
    );
    await expectRefused(rawTarGz([...base, { path: "pipe", type: "FIFO" }]), /'pipe' is a FIFO/);
  });

  it("refuses an archive over the size limit", async () => {
    const archive = rawTarGz([...base, { path: "big.bin", body: "x".repeat(5000) }]);
    await expectRefused(archive, /size over 4096 bytes.*'big.bin'/, {
      maxBytes: 4096,
      maxEntries: 100,
    });
  });

  it("refuses an archive with too many entries", async () => {
    const many = Array.from({ length: 20 }, (_, i) => ({ path: `f${i}`, body: "" }));
    await expectRefused(rawTarGz([...base, ...many]), /more than 10 entries.*'f8'/, {
      maxBytes: 1 << 20,
      maxEntries: 10,
    });
  });

  it("refuses a package without a manifest", async () => {
    const err = await expectRefused(rawTarGz([{ path: "server.js", body: "x" }]), /no msec\.json/);
    expect(err.field).toBe("msec.json");
  });

  it("refuses an invalid manifest, naming the field", async () => {
    const bad = (m: unknown) =>
      rawTarGz([{ path: "msec.json", body: JSON.stringify(m) }, base[1] as RawEntry]);
    expect((await expectRefused(bad({ entry: "../x.js" }), /msec\.json\.entry/)).field).toBe(
      "msec.json.entry",
    );
    expect(
      (await expectRefused(bad({ entry: "server.js", port: "80" }), /msec\.json\.port/)).field,
    ).toBe("msec.json.port");
    await expectRefused(
      bad({ entry: "server.js", healthCheck: { path: "health" } }),
      /msec\.json\.healthCheck\.path/,
    );
    await expectRefused(bad({ port: 80 }), /msec\.json\.entry/);
    await expectRefused(
      bad({ entry: "missing.js" }),
      /msec\.json\.entry: 'missing\.js' is not a file/,
    );
    await expectRefused(
      rawTarGz([{ path: "msec.json", body: "{nope" }]),
      /msec\.json: not valid JSON/,
    );
  });

  it("refuses bytes that are not a tar.gz", async () => {
    await expectRefused(Buffer.from("definitely not an archive"), /package refused/);
  });
});

describe("unpackArchive (libraries and plugins)", () => {
  it("unpacks an archive without a manifest", async () => {
    const dest = join(work, "libs", "3");
    await unpackArchive(rawTarGz([{ path: "lib.js", body: "lib" }]), dest);
    expect(await readFile(join(dest, "lib.js"), "utf8")).toBe("lib");
  });

  it("refuses what a package would be refused for, leaving nothing", async () => {
    const dest = join(work, "libs", "4");
    const err = await unpackArchive(rawTarGz([{ path: "../evil", body: "x" }]), dest).catch(
      (e: unknown) => e,
    );
    expect((err as MsecError).code).toBe("invalid_argument");
    expect(await readdir(join(work, "libs")).catch(() => [])).toEqual([]);
  });
});
