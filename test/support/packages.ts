import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { gzipSync } from "node:zlib";
import * as tar from "tar";
import type { ArtifactRef } from "../../src/core/schemas/machine.js";

/**
 * Test packages for the agent: `.tar.gz` built from a map of file names to contents,
 * and a small echo service in plain JS (it imports "msec", which the agent links).
 */

/** A `.tar.gz` of these files (paths relative to the package root). */
export async function tarGz(files: Record<string, string>): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), "msec-pkg-"));
  try {
    for (const [name, body] of Object.entries(files)) {
      await mkdir(dirname(join(dir, name)), { recursive: true });
      await writeFile(join(dir, name), body);
    }
    const out = join(dir, "..", `${dir.split("/").pop()}.tar.gz`);
    await tar.c({ gzip: true, portable: true, cwd: dir, file: out }, ["."]);
    const bytes = await readFile(out);
    await rm(out, { force: true });
    return bytes;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * A `.tar.gz` written entry by entry, names as given: for archives `tar.c` would never
 * write (a `../` entry, an absolute path). Regular files only.
 */
export function rawTarGz(entries: { path: string; body: string }[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const body = Buffer.from(e.body);
    const header = new tar.Header({
      path: e.path,
      type: "File",
      mode: 0o644,
      uid: 0,
      gid: 0,
      size: body.length,
      mtime: new Date(0),
    });
    const block = Buffer.alloc(512);
    header.encode(block, 0);
    blocks.push(block);
    const padded = Buffer.alloc(Math.ceil(body.length / 512) * 512);
    body.copy(padded);
    blocks.push(padded);
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}

export type EchoMode = "ok" | "crash" | "unhealthy";

/**
 * The echo service: `Echo` answers `{text, servedBy, version, pid, tag, config}`.
 * - `crash`: exits with code 3 at start (after a line on stderr);
 * - `unhealthy`: serves, but its health check path answers 405 (no GET route there).
 * `config` is the text of `<MSEC_CONFIG_DIR>/app.txt` (re-read on a config change
 * when the runtime offers `config.onChange`). `configListener: false`: the service reads
 * its config at start only and never calls `config.onChange` (a config change restarts it).
 * `startDelayMs`: waits this long before it listens (a slow start, for a window mid-deploy).
 */
export function echoPackage(
  opts: {
    tag?: string;
    mode?: EchoMode;
    healthTimeoutMs?: number;
    configListener?: boolean;
    startDelayMs?: number;
  } = {},
): Record<string, string> {
  const mode = opts.mode ?? "ok";
  return {
    "msec.json": JSON.stringify({
      entry: "server.js",
      healthCheck: {
        path: mode === "unhealthy" ? "/no-such-health" : "/health",
        timeoutMs: opts.healthTimeoutMs ?? 10_000,
      },
    }),
    "package.json": JSON.stringify({ type: "module" }),
    "tag.txt": opts.tag ?? "v",
    "mode.txt": mode,
    "listener.txt": opts.configListener === false ? "no" : "yes",
    "delay.txt": String(opts.startDelayMs ?? 0),
    "server.js": ECHO_JS,
  };
}

const ECHO_JS = `
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as msec from "msec";

const here = new URL(".", import.meta.url).pathname;
const mode = readFileSync(join(here, "mode.txt"), "utf8").trim();
const tag = readFileSync(join(here, "tag.txt"), "utf8").trim();
let listener = "yes";
try {
  listener = readFileSync(join(here, "listener.txt"), "utf8").trim();
} catch {}
let delayMs = 0;
try {
  delayMs = Number(readFileSync(join(here, "delay.txt"), "utf8").trim()) || 0;
} catch {}
if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
if (mode === "crash") {
  console.error("echo: crashing at start on purpose");
  process.exit(3);
}
const readConfig = () => {
  try {
    return readFileSync(join(process.env.MSEC_CONFIG_DIR ?? "", "app.txt"), "utf8").trim();
  } catch {
    return "";
  }
};
let config = readConfig();
if (listener !== "no" && msec.config && typeof msec.config.onChange === "function") {
  msec.config.onChange(() => {
    config = readConfig();
  });
}
const server = msec.createServer({
  service: process.env.MSEC_SERVICE,
  port: Number(process.env.MSEC_PORT),
  host: process.env.MSEC_HOST,
  naming: false,
});
server.json("Echo", (req) => ({
  text: req.text ?? "",
  servedBy: server.addr,
  version: process.env.MSEC_VERSION,
  pid: process.pid,
  tag,
  config,
}));
await server.listen();
console.log("echo " + tag + " listening on " + server.addr);
const stop = () => server.close().then(() => process.exit(0), () => process.exit(1));
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
`;

/** Upload an artifact as an operator; returns the reference a Deployment carries. */
export async function uploadArtifact(
  consoleUrl: string,
  token: string,
  service: string,
  kind: "package" | "config" | "lib" | "plugin",
  bytes: Uint8Array,
  name?: string,
): Promise<ArtifactRef> {
  const q = name ? `?name=${encodeURIComponent(name)}` : "";
  const res = await fetch(`${consoleUrl}/api/v1/artifacts/${service}/${kind}${q}`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/octet-stream" },
    body: bytes,
  });
  const body = (await res.json()) as {
    version: number;
    sha256: string;
    signature: string;
    name: string | null;
  };
  if (res.status !== 201) throw new Error(`upload failed: ${res.status} ${JSON.stringify(body)}`);
  return { version: body.version, sha256: body.sha256, signature: body.signature, name: body.name };
}
