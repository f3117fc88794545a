import { randomBytes } from "node:crypto";
import { mkdir, readFile, rename, rm, stat } from "node:fs/promises";
import { dirname, posix } from "node:path";
import * as tar from "tar";
import { MsecError } from "../../core/errors.js";
import {
  isSafeRelativePath,
  MANIFEST_FILE,
  type PackageManifest,
  parseManifest,
} from "./manifest.js";

export interface UnpackLimits {
  /** Total unpacked size of all file entries, in bytes. */
  maxBytes: number;
  /** Number of entries (files, folders, links). */
  maxEntries: number;
}

export const DEFAULT_UNPACK_LIMITS: UnpackLimits = {
  maxBytes: 200 * 1024 * 1024,
  maxEntries: 10_000,
};

/** Largest `msec.json` we read. */
const MAX_MANIFEST_BYTES = 64 * 1024;

const ALLOWED_TYPES = new Set([
  "File",
  "OldFile",
  "ContiguousFile",
  "Directory",
  "SymbolicLink",
  "Link",
]);
const FILE_TYPES = new Set(["File", "OldFile", "ContiguousFile"]);

interface ListedEntry {
  path: string; // normalized, relative, no trailing slash
  type: string;
  linkpath?: string;
}

function refuse(message: string): MsecError {
  return new MsecError("invalid_argument", `package refused: ${message}`, { field: "archive" });
}

/** `./a//b/` → `a/b`; returns undefined for an unsafe path (absolute, `..`). */
function normalizeEntryPath(raw: string): string | undefined {
  if (!isSafeRelativePath(raw)) return undefined;
  const segs = raw.split("/").filter((s) => s !== "" && s !== ".");
  return segs.join("/");
}

/**
 * Resolves a link target step by step from `base` (a folder inside the package).
 * Returns the resolved relative path, "outside" if it leaves the root, or "through"
 * (with the link) if a step other than the last goes through a symbolic link of the
 * archive: past such a step, a lexical resolution no longer matches the real one.
 */
function walkTarget(
  base: string,
  target: string,
  symlinks: ReadonlySet<string>,
): { kind: "inside"; path: string } | { kind: "outside" } | { kind: "through"; link: string } {
  const stack = base === "" ? [] : base.split("/");
  const segs = target.split("/").filter((s) => s !== "" && s !== ".");
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i] as string;
    if (seg === "..") {
      if (stack.length === 0) return { kind: "outside" };
      stack.pop();
    } else {
      stack.push(seg);
      const here = stack.join("/");
      if (i < segs.length - 1 && symlinks.has(here)) return { kind: "through", link: here };
    }
  }
  return { kind: "inside", path: stack.join("/") };
}

/** The proper prefixes of `p`: `a/b/c` → `a`, `a/b`. */
function parents(p: string): string[] {
  const segs = p.split("/");
  const out: string[] = [];
  for (let i = 1; i < segs.length; i++) out.push(segs.slice(0, i).join("/"));
  return out;
}

/**
 * The listing pass: reads the whole archive without writing anything, refuses unsafe
 * entries and over-limit archives, and returns the entries plus the manifest text.
 */
async function listArchive(
  bytes: Buffer,
  limits: UnpackLimits,
): Promise<{ entries: ListedEntry[]; manifestText: string | undefined }> {
  const entries: ListedEntry[] = [];
  let manifestText: string | undefined;
  let total = 0;
  let failure: Error | undefined;

  const parser = new tar.Parser({
    strict: true,
    onReadEntry: (entry) => {
      const fail = (err: Error) => {
        failure ??= err;
        entry.resume();
        parser.abort(err);
      };
      if (failure) {
        entry.resume();
        return;
      }
      const raw = entry.path;
      if (entries.length + 1 > limits.maxEntries) {
        return fail(refuse(`more than ${limits.maxEntries} entries (at '${raw}')`));
      }
      if (!ALLOWED_TYPES.has(entry.type)) {
        return fail(
          refuse(`entry '${raw}' is a ${entry.type}; only files, folders and links are allowed`),
        );
      }
      if (raw.startsWith("/") || /^[a-zA-Z]:/.test(raw)) {
        return fail(refuse(`entry '${raw}' has an absolute path`));
      }
      const path = normalizeEntryPath(raw);
      if (path === undefined)
        return fail(refuse(`entry '${raw}' has a '..' component or an unsafe name`));
      if (path === "" && entry.type !== "Directory")
        return fail(refuse(`entry '${raw}' has an empty name`));
      if (FILE_TYPES.has(entry.type)) {
        total += entry.size;
        if (total > limits.maxBytes) {
          return fail(refuse(`unpacked size over ${limits.maxBytes} bytes (at '${raw}')`));
        }
      }
      const listed: ListedEntry = { path, type: entry.type };
      if (entry.linkpath !== undefined) listed.linkpath = entry.linkpath;
      entries.push(listed);
      if (path === MANIFEST_FILE && FILE_TYPES.has(entry.type)) {
        if (entry.size > MAX_MANIFEST_BYTES) {
          return fail(refuse(`${MANIFEST_FILE} is larger than ${MAX_MANIFEST_BYTES} bytes`));
        }
        const chunks: Buffer[] = [];
        entry.on("data", (c: Buffer) => chunks.push(c));
        entry.on("end", () => {
          manifestText = Buffer.concat(chunks).toString("utf8");
        });
        return;
      }
      entry.resume();
    },
  });

  await new Promise<void>((resolve, reject) => {
    let settled = false;
    const done = (err?: Error) => {
      if (settled) return;
      settled = true;
      if (err ?? failure) reject(failure ?? err);
      else resolve();
    };
    parser.on("error", (err: Error) =>
      done(err instanceof MsecError ? err : refuse(`not a valid .tar.gz: ${err.message}`)),
    );
    parser.on("abort", (err: Error) => done(err));
    parser.on("end", () => done());
    parser.on("close", () => done());
    parser.end(bytes);
  });
  if (failure) throw failure;
  checkLinks(entries);
  return { entries, manifestText };
}

/** Links must stay inside, must not go through other links, and nothing may sit under a symlink. */
function checkLinks(entries: readonly ListedEntry[]): void {
  const symlinks = new Set(entries.filter((e) => e.type === "SymbolicLink").map((e) => e.path));
  const throughSymlink = (p: string) => parents(p).find((q) => symlinks.has(q));
  for (const e of entries) {
    const via = throughSymlink(e.path);
    if (via !== undefined) throw refuse(`entry '${e.path}' lies under the symbolic link '${via}'`);
    if (e.type !== "SymbolicLink" && e.type !== "Link") continue;
    const target = e.linkpath ?? "";
    if (
      target === "" ||
      posix.isAbsolute(target) ||
      /^[a-zA-Z]:/.test(target) ||
      target.includes("\\")
    ) {
      throw refuse(`link '${e.path}' points outside the package (to '${target}')`);
    }
    // Symbolic links resolve from their own folder; hard links from the archive root.
    const base = e.type === "SymbolicLink" ? posix.dirname(e.path).replace(/^\.$/, "") : "";
    const walked = walkTarget(base, target, symlinks);
    if (walked.kind === "outside")
      throw refuse(`link '${e.path}' points outside the package (to '${target}')`);
    if (walked.kind === "through") {
      throw refuse(`link '${e.path}' goes through the symbolic link '${walked.link}'`);
    }
    const resolved = walked.path;
    if (e.type === "Link" && (resolved === "" || resolved === e.path)) {
      throw refuse(`hard link '${e.path}' has an invalid target '${target}'`);
    }
    if (e.type === "Link" && symlinks.has(resolved)) {
      throw refuse(`hard link '${e.path}' targets the symbolic link '${resolved}'`);
    }
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

async function extractInto(
  bytes: Buffer,
  dir: string,
  allowed: ReadonlySet<string>,
): Promise<void> {
  let failure: Error | undefined;
  const unpack = new tar.Unpack({
    cwd: dir,
    strict: true,
    preserveOwner: false,
    preservePaths: false,
    // Second line of defence: only what the listing pass approved.
    filter: (p, entry) => {
      const n = normalizeEntryPath(p);
      const type = "type" in entry ? entry.type : "";
      const ok = n !== undefined && ALLOWED_TYPES.has(type) && allowed.has(`${type}:${n}`);
      if (!ok) failure ??= refuse(`entry '${p}' changed between listing and extraction`);
      // No setuid, setgid or sticky bits from a package.
      if ("type" in entry && typeof entry.mode === "number") entry.mode &= 0o777;
      return ok;
    },
  });
  await new Promise<void>((resolve, reject) => {
    unpack.on("error", (err: Error) => reject(err));
    unpack.on("close", () => resolve());
    unpack.end(bytes);
  });
  if (failure) throw failure;
}

/**
 * Unpacks a code package (`.tar.gz`, as a Buffer or a file path) into `destDir`.
 *
 * Everything is checked first in a listing pass that writes nothing: absolute paths,
 * `..` components, links that leave the folder, device/FIFO entries, entry count and
 * total size over the limits, and the manifest `msec.json`. Only then is the archive
 * extracted into `<dest>.tmp-<random>` and renamed into place, so on any failure
 * neither `destDir` nor the temporary folder remains. `destDir` must not exist yet
 * (release folders are immutable).
 */
export async function unpackPackage(
  archive: Buffer | string,
  destDir: string,
  limits: UnpackLimits = DEFAULT_UNPACK_LIMITS,
): Promise<PackageManifest> {
  // Read a path once, so the listing and the extraction see the very same bytes.
  const bytes = typeof archive === "string" ? await readFile(archive) : archive;
  if (await exists(destDir)) {
    throw new MsecError("already_exists", `destination ${destDir} already exists`, {
      field: "destDir",
    });
  }
  const { entries, manifestText } = await listArchive(bytes, limits);
  if (manifestText === undefined) {
    throw new MsecError(
      "invalid_argument",
      `package refused: no ${MANIFEST_FILE} at the archive root`,
      {
        field: MANIFEST_FILE,
      },
    );
  }
  const manifest = parseManifest(manifestText);
  const entryPath = normalizeEntryPath(manifest.entry);
  const entryListed = entries.find((e) => e.path === entryPath);
  if (!entryListed || !(FILE_TYPES.has(entryListed.type) || entryListed.type === "SymbolicLink")) {
    throw new MsecError(
      "invalid_argument",
      `${MANIFEST_FILE}.entry: '${manifest.entry}' is not a file in the package`,
      { field: `${MANIFEST_FILE}.entry` },
    );
  }

  await extractChecked(bytes, entries, destDir);
  return manifest;
}

/** Extract into `<dest>.tmp-<random>` (only the listed entries), then rename into place. */
async function extractChecked(
  bytes: Buffer,
  entries: readonly ListedEntry[],
  destDir: string,
): Promise<void> {
  const allowed = new Set(entries.map((e) => `${e.type}:${e.path}`));
  const tmp = `${destDir.replace(/\/+$/, "")}.tmp-${randomBytes(6).toString("hex")}`;
  try {
    await mkdir(dirname(tmp), { recursive: true });
    await mkdir(tmp, { mode: 0o755 });
    await extractInto(bytes, tmp, allowed);
    await rename(tmp, destDir);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err instanceof MsecError
      ? err
      : new MsecError("internal", `unpack failed: ${String(err)}`, { cause: err });
  }
}

/**
 * Unpacks a library or plugin archive (`.tar.gz`) into `destDir` with every check of
 * {@link unpackPackage} except the manifest: such archives have no `msec.json`.
 */
export async function unpackArchive(
  archive: Buffer | string,
  destDir: string,
  limits: UnpackLimits = DEFAULT_UNPACK_LIMITS,
): Promise<void> {
  const bytes = typeof archive === "string" ? await readFile(archive) : archive;
  if (await exists(destDir)) {
    throw new MsecError("already_exists", `destination ${destDir} already exists`, {
      field: "destDir",
    });
  }
  const { entries } = await listArchive(bytes, limits);
  await extractChecked(bytes, entries, destDir);
}
