import { randomBytes } from "node:crypto";
import { mkdir, open, readFile, rename, rm, symlink } from "node:fs/promises";
import { dirname } from "node:path";

/**
 * Writes a file so that a crash leaves either the old or the new content, never half
 * of it: write a sibling temporary file, fsync it, rename it over the target.
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  mode = 0o644,
): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${randomBytes(4).toString("hex")}`;
  const fh = await open(tmp, "w", mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/** The parsed JSON of a file, or undefined when it does not exist. */
export async function readJsonFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
  return JSON.parse(text);
}

/**
 * Points the symbolic link `link` at `target` in one step: a new link under a
 * temporary name renamed over the old one, so readers always see a whole link.
 */
export async function switchSymlink(link: string, target: string): Promise<void> {
  const tmp = `${link}.tmp-${randomBytes(4).toString("hex")}`;
  await symlink(target, tmp);
  try {
    await rename(tmp, link);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/**
 * Serializes writes of one file: each `write` waits for the one before, and a write
 * queued while another runs replaces any older queued one (only the last state counts).
 */
export class SerialWriter {
  private running: Promise<void> = Promise.resolve();
  private pending: (() => string) | undefined;
  private queued: Promise<void> | undefined;

  constructor(
    private readonly path: string,
    private readonly mode = 0o600,
  ) {}

  /** Resolves once a write that includes this state has reached the disk. */
  write(render: () => string): Promise<void> {
    this.pending = render;
    if (this.queued) return this.queued;
    this.queued = this.running.then(async () => {
      this.queued = undefined;
      const next = this.pending;
      this.pending = undefined;
      if (next) await writeFileAtomic(this.path, next(), this.mode);
    });
    this.running = this.queued.catch(() => {});
    return this.queued;
  }
}
