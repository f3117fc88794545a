import { mkdir, open, readdir, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "../../core/log.js";
import { SpooledBody } from "./ingest.js";
import type { RelayBody } from "./merge.js";

export interface SpoolFile {
  name: string;
  bytes: number;
}

/** Where batches wait while the console is down; a fake in memory in unit tests. */
export interface Spool {
  /** The files already there (from before a restart), oldest first. */
  list(): Promise<SpoolFile[]>;
  /** One new file holding `bodies`, on disk (fsync'd) when this resolves. */
  write(bodies: readonly RelayBody[]): Promise<SpoolFile>;
  read(file: SpoolFile): Promise<RelayBody[]>;
  remove(file: SpoolFile): Promise<void>;
}

const NAME = /^spool-(\d{12})\.jsonl$/;

export function spoolName(seq: number): string {
  return `spool-${String(seq).padStart(12, "0")}.jsonl`;
}

/** The sequence number of a spool file name, or undefined for other files. */
export function spoolSeq(name: string): number | undefined {
  const m = NAME.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** One JSON line per body. */
export function formatSpool(bodies: readonly RelayBody[]): string {
  return bodies.map((b) => `${JSON.stringify(b)}\n`).join("");
}

/** The bodies in a spool file's text; lines that do not parse (a torn write, an edit) are counted, not fatal. */
export function parseSpool(text: string): { bodies: RelayBody[]; bad: number } {
  const bodies: RelayBody[] = [];
  let bad = 0;
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    try {
      const parsed = SpooledBody.safeParse(JSON.parse(line));
      if (parsed.success) bodies.push(parsed.data);
      else bad++;
    } catch {
      bad++;
    }
  }
  return { bodies, bad };
}

/**
 * Spool files in a folder: `spool-<seq>.jsonl`, the sequence giving the order. Each file
 * is written whole under a temporary name, fsync'd, then renamed, so a crash leaves
 * either the whole file or none.
 */
export class DiskSpool implements Spool {
  private seq = 0;

  constructor(
    private readonly dir: string,
    private readonly log?: Logger,
  ) {}

  async list(): Promise<SpoolFile[]> {
    await mkdir(this.dir, { recursive: true });
    const files: { seq: number; file: SpoolFile }[] = [];
    for (const e of await readdir(this.dir, { withFileTypes: true })) {
      if (!e.isFile()) continue;
      if (e.name.startsWith(".tmp-")) {
        await rm(join(this.dir, e.name), { force: true }); // a write cut short
        continue;
      }
      const seq = spoolSeq(e.name);
      if (seq === undefined) continue;
      const text = await readFile(join(this.dir, e.name));
      files.push({ seq, file: { name: e.name, bytes: text.length } });
      this.seq = Math.max(this.seq, seq);
    }
    return files.sort((a, b) => a.seq - b.seq).map((f) => f.file);
  }

  async write(bodies: readonly RelayBody[]): Promise<SpoolFile> {
    await mkdir(this.dir, { recursive: true });
    this.seq++;
    const name = spoolName(this.seq);
    const tmp = join(this.dir, `.tmp-${name}`);
    const text = formatSpool(bodies);
    const fh = await open(tmp, "w", 0o600);
    try {
      await fh.writeFile(text);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, join(this.dir, name));
    await this.syncDir();
    return { name, bytes: Buffer.byteLength(text) };
  }

  async read(file: SpoolFile): Promise<RelayBody[]> {
    const { bodies, bad } = parseSpool(await readFile(join(this.dir, file.name), "utf8"));
    if (bad > 0)
      this.log?.warn({ file: file.name, lines: bad }, "skipping spool lines that do not parse");
    return bodies;
  }

  async remove(file: SpoolFile): Promise<void> {
    await rm(join(this.dir, file.name), { force: true });
  }

  /** So the rename itself survives a power cut. */
  private async syncDir(): Promise<void> {
    try {
      const dh = await open(this.dir, "r");
      try {
        await dh.sync();
      } finally {
        await dh.close();
      }
    } catch {
      // Not every platform can fsync a folder; the file itself is on disk.
    }
  }
}
