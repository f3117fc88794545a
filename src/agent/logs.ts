import { closeSync, openSync } from "node:fs";
import { copyFile, open, rename, rm, stat, truncate } from "node:fs/promises";
import { join } from "node:path";

/**
 * Service output goes to `logs/stdout.log` and `logs/stderr.log`, opened with
 * O_APPEND and handed to the process as its stdio, so it keeps writing when the
 * agent is gone. Rotation is by size, copy then truncate: the process's descriptor
 * stays valid and, appending, writes at the new end.
 */

export const LOG_FILES = ["stdout.log", "stderr.log"] as const;

export interface LogFds {
  out: number;
  err: number;
  close(): void;
}

/** Open both log files for appending (created if missing). */
export function openLogFds(logsDir: string): LogFds {
  const out = openSync(join(logsDir, "stdout.log"), "a", 0o644);
  let err: number;
  try {
    err = openSync(join(logsDir, "stderr.log"), "a", 0o644);
  } catch (e) {
    closeSync(out);
    throw e;
  }
  return {
    out,
    err,
    close: () => {
      closeSync(out);
      closeSync(err);
    },
  };
}

/**
 * If `file` is larger than `maxBytes`: shift `file.1`…`file.(keep-1)` up by one
 * (dropping `file.keep`), copy `file` to `file.1`, truncate `file`. Lines written
 * between the copy and the truncation are lost (as with logrotate's copytruncate).
 */
export async function rotateIfLarger(
  file: string,
  maxBytes: number,
  keep: number,
): Promise<boolean> {
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch {
    return false;
  }
  if (size <= maxBytes || keep < 1) return false;
  await rm(`${file}.${keep}`, { force: true });
  for (let i = keep - 1; i >= 1; i--) {
    await rename(`${file}.${i}`, `${file}.${i + 1}`).catch(() => {});
  }
  await copyFile(file, `${file}.1`);
  await truncate(file, 0);
  return true;
}

/** Rotate both log files of a service folder. */
export async function rotateLogs(logsDir: string, maxBytes: number, keep: number): Promise<void> {
  for (const name of LOG_FILES) await rotateIfLarger(join(logsDir, name), maxBytes, keep);
}

/** The last `bytes` of a file (from `from` on) as text, for error messages; "" if unreadable. */
export async function tail(file: string, bytes = 600, from = 0): Promise<string> {
  try {
    const fh = await open(file, "r");
    try {
      const { size } = await fh.stat();
      const start = Math.max(from, size - bytes, 0);
      if (start >= size) return "";
      const buf = Buffer.alloc(size - start);
      await fh.read(buf, 0, buf.length, start);
      return buf.toString("utf8");
    } finally {
      await fh.close();
    }
  } catch {
    return "";
  }
}
