import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createLogger } from "../core/log.js";
import { freePort, isSameProcess, procStartTime } from "./proc.js";
import { Instance, type InstanceRecord } from "./supervisor.js";

/** A plain HTTP "service": /health answers 200; env decides how it misbehaves. */
const SERVER = `
const http = require("node:http");
if (process.env.FAIL_AT_START) { console.error("cannot start: on purpose"); process.exit(4); }
if (process.env.IGNORE_TERM) process.on("SIGTERM", () => {});
else process.on("SIGTERM", () => process.exit(0));
http.createServer((req, res) => { res.statusCode = req.url === "/health" ? 200 : 404; res.end("ok"); })
  .listen(Number(process.env.MSEC_PORT), "127.0.0.1");
`;

const log = createLogger({ level: "silent" });
let dir: string;
const started: Instance[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "msec-sup-"));
  await mkdir(join(dir, "releases", "1"), { recursive: true });
  await mkdir(join(dir, "logs"));
  await writeFile(join(dir, "releases", "1", "server.cjs"), SERVER);
});
afterEach(async () => {
  for (const i of started.splice(0)) {
    try {
      if (i.alive) process.kill(i.record.pid, "SIGKILL");
    } catch {
      // gone already
    }
  }
  await rm(dir, { recursive: true, force: true });
});

async function record(): Promise<InstanceRecord> {
  return {
    service: "Test.Sup",
    pid: 0,
    startTime: "",
    port: await freePort("127.0.0.1"),
    release: "1",
    configSet: "none",
    versions: { package: 1, configs: [], libs: [], plugins: [] },
    entry: "server.cjs",
    healthPath: "/health",
    healthTimeoutMs: 5000,
    controlKey: "k",
    weight: 100,
    restarts: 0,
    since: 0,
  };
}

function instance(rec: InstanceRecord, env: Record<string, string> = {}, stopTimeoutMs = 2000) {
  const changes: string[] = [];
  const inst = new Instance(rec, {
    log,
    host: "127.0.0.1",
    releaseDir: (r) => join(dir, "releases", r),
    logsDir: join(dir, "logs"),
    env: (r) => ({ PATH: process.env.PATH ?? "", MSEC_PORT: String(r.port), ...env }),
    onChange: (i) => changes.push(i.state),
    stopTimeoutMs,
    probeIntervalMs: 200,
  });
  started.push(inst);
  return { inst, changes };
}

const until = async (what: string, check: () => boolean, ms = 8000) => {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
};

describe("supervised process", () => {
  it("starts, is healthy, records pid and start time, stops on SIGTERM", async () => {
    const { inst, changes } = instance(await record());
    await inst.start();
    expect(inst.state).toBe("healthy");
    expect(inst.record.pid).toBeGreaterThan(0);
    expect(inst.record.startTime).toBe(procStartTime(inst.record.pid));
    expect(changes).toEqual(["starting", "healthy"]);
    const pid = inst.record.pid;
    await inst.stop();
    expect(inst.state).toBe("stopped");
    expect(isSameProcess(pid, inst.record.startTime)).toBe(false);
  });

  it("a process that exits at start fails with its stderr", async () => {
    const { inst } = instance(await record(), { FAIL_AT_START: "1" });
    await expect(inst.start()).rejects.toThrow(/exited with code 4.*cannot start: on purpose/);
    expect(inst.alive).toBe(false);
  });

  it("a crash is restarted after the backoff, on the same port, and counted", async () => {
    const { inst } = instance(await record());
    await inst.start();
    const first = inst.record.pid;
    process.kill(first, "SIGKILL");
    await until("crashed", () => inst.state === "crashed");
    await until("restarted", () => inst.state === "healthy" && inst.record.pid !== first);
    expect(inst.record.restarts).toBe(1);
    await inst.stop();
  });

  it("adopts a process a previous agent started; notices its death by polling", async () => {
    const a = instance(await record());
    await a.inst.start();
    a.inst.detach();
    const b = instance({ ...a.inst.record });
    expect(await b.inst.adopt()).toBe(true);
    expect(b.inst.state).toBe("healthy");
    expect(b.inst.record.pid).toBe(a.inst.record.pid);
    // A record whose start time does not match is someone else's process.
    const c = instance({ ...a.inst.record, startTime: "1" });
    expect(await c.inst.adopt()).toBe(false);
    process.kill(b.inst.record.pid, "SIGKILL");
    await until("crash noticed", () => b.inst.state === "crashed", 3000);
    await until("restarted", () => b.inst.state === "healthy");
    expect(b.inst.record.restarts).toBe(1);
    await b.inst.stop();
  });

  it("SIGKILL when SIGTERM is ignored past the stop timeout", async () => {
    const { inst } = instance(await record(), { IGNORE_TERM: "1" }, 300);
    await inst.start();
    const t0 = Date.now();
    await inst.stop();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
    expect(inst.alive).toBe(false);
  });
});
