/**
 * RPC benchmark: `npm run bench:rpc` (builds, then runs this).
 *
 * Echo of a 100-byte message. Each contender is a server process pinned to core 0
 * and a client process pinned to core 1, 100 calls in flight (closed loop), warm-up
 * then a fixed measured window. Reported: calls/s, calls per server-CPU-second (the
 * primary metric: it does not care whether the client or the server is the bottleneck),
 * client-side p50/p99, and ratios against peers measured in the same run. Then an
 * open-loop run of msec at 80% of its maximum rate for p99 at load.
 *
 * Env: BENCH_SECONDS (measured window, default 8), BENCH_WARMUP (default 2),
 * BENCH_ROUNDS (default 1; the median of the rounds is reported),
 * BENCH_ONLY (comma-separated contender ids, for a quick look).
 *
 * Writes bench/results/rpc-<date>.json and bench/results/rpc-latest.md.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import { performance } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import {
  type ClientConfig,
  type ClientResult,
  cpuSeconds,
  HOST,
  type ServerConfig,
} from "./lib/common.js";

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const RESULTS_DIR = here("../results/");

const MEASURE_S = positive(process.env.BENCH_SECONDS, 8);
const WARMUP_S = positive(process.env.BENCH_WARMUP, 2);
const ROUNDS = Math.round(positive(process.env.BENCH_ROUNDS, 1));
const ONLY = process.env.BENCH_ONLY?.split(",").map((s) => s.trim());
/** A directory: write V8 CPU profiles (--cpu-prof) of the msec server and client processes there. */
const CPU_PROF_DIR = process.env.BENCH_CPU_PROF;
const INFLIGHT = 100;
const OPEN_LOOP_SHARE = 0.8;
/** No benchmark process may live longer than this, whatever happens. */
const MAX_LIFETIME_S = WARMUP_S + MEASURE_S + 90;

// ---------------------------------------------------------------------------------
// Contenders

type ServerKind = "msec" | "net" | "moleculer" | "grpc" | "http";
type ClientKind = "msec" | "net" | "moleculer" | "grpc";

interface Contender {
  id: string;
  label: string;
  group: "binary" | "http";
  server: ServerKind;
  serverCfg?: Partial<ServerConfig>;
  /** A client script, or wrk POSTing JSON to this path. */
  client: { kind: ClientKind; cfg?: Partial<ClientConfig> } | { wrkPath: string };
}

const CONTENDERS: Contender[] = [
  {
    id: "msec-json",
    label: "msec binary, JSON, metrics on",
    group: "binary",
    server: "msec",
    serverCfg: { metrics: true },
    client: { kind: "msec", cfg: { metrics: true } },
  },
  {
    id: "msec-json-nometrics",
    label: "msec binary, JSON, metrics off",
    group: "binary",
    server: "msec",
    serverCfg: { metrics: false },
    client: { kind: "msec", cfg: { metrics: false } },
  },
  {
    id: "msec-proto",
    label: "msec binary, protobuf, metrics on",
    group: "binary",
    server: "msec",
    serverCfg: { metrics: true },
    client: { kind: "msec", cfg: { metrics: true, proto: true } },
  },
  {
    id: "net",
    label: "bare node:net length-prefixed echo",
    group: "binary",
    server: "net",
    client: { kind: "net" },
  },
  {
    id: "moleculer",
    label: "Moleculer 0.14, TCP transporter",
    group: "binary",
    server: "moleculer",
    client: { kind: "moleculer" },
  },
  {
    id: "grpc",
    label: "@grpc/grpc-js unary",
    group: "binary",
    server: "grpc",
    client: { kind: "grpc" },
  },
  {
    id: "msec-http",
    label: "msec HTTP/1.1 Connect JSON (wrk)",
    group: "http",
    server: "msec",
    serverCfg: { metrics: true },
    client: { wrkPath: "/Bench.Echo/Echo" },
  },
  {
    id: "node-http",
    label: "bare node:http JSON echo (wrk)",
    group: "http",
    server: "http",
    client: { wrkPath: "/Bench.Echo/Echo" },
  },
];

// ---------------------------------------------------------------------------------
// Machine and pinning

const cpus = os.cpus();
const hasTaskset = spawnSync("taskset", ["-V"], { stdio: "ignore" }).status === 0;
const pinned = cpus.length >= 2 && hasTaskset;
const SERVER_PIN = pinned ? ["taskset", "-c", "0"] : [];
const CLIENT_PIN = pinned ? ["taskset", "-c", "1"] : [];
const CLK_TCK = (() => {
  const out = spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" });
  const n = Number(out.stdout?.trim());
  return Number.isFinite(n) && n > 0 ? n : 100;
})();
const hasWrk = spawnSync("wrk", ["-v"], { stdio: "ignore" }).error === undefined;

const machine = {
  date: new Date().toISOString(),
  cpuModel: cpus[0]?.model ?? "unknown",
  cores: cpus.length,
  node: process.version,
  platform: `${os.platform()} ${os.release()}`,
  loadAvgAtStart: os.loadavg().map((x) => Number(x.toFixed(2))),
  loadAvgAtEnd: [] as number[],
  pinning: pinned
    ? "server on core 0, client on core 1 (taskset)"
    : `NOT pinned (${cpus.length < 2 ? "one core" : "no taskset"}): server and client share the CPU`,
  measureSeconds: MEASURE_S,
  warmupSeconds: WARMUP_S,
  rounds: ROUNDS,
  inflight: INFLIGHT,
  cpuSource: existsSync(`/proc/${process.pid}/stat`) ? "/proc/<pid>/stat (utime+stime)" : "none",
};

// ---------------------------------------------------------------------------------
// Processes: every one is tracked and killed on the way out, whatever happens.

const children = new Set<ChildProcess>();

function killAll(): void {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null && c.pid !== undefined) c.kill("SIGKILL");
  }
}
process.on("exit", killAll);
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(sig, () => {
    killAll();
    process.exit(130);
  });
}

interface Proc {
  child: ChildProcess;
  pid: number;
  lines: AsyncIterableIterator<string>;
  stderr: () => string;
  exited: Promise<number | null>;
}

function start(prefix: string[], args: string[], env: Record<string, string> = {}): Proc {
  const [cmd, ...rest] = [...prefix, ...args];
  const child = spawn(cmd as string, rest, {
    stdio: ["pipe", "pipe", "pipe"],
    env: { ...process.env, ...env },
    cwd: here("../../"),
  });
  children.add(child);
  let err = "";
  child.stderr?.on("data", (d: Buffer) => {
    err = (err + d.toString("utf8")).slice(-4000);
  });
  const exited = new Promise<number | null>((resolve) => {
    child.on("exit", (code) => {
      children.delete(child);
      resolve(code);
    });
    child.on("error", (e) => {
      err += String(e);
      children.delete(child);
      resolve(-1);
    });
  });
  child.stdin?.on("error", () => {});
  const rl = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  return {
    child,
    pid: child.pid ?? -1,
    lines: rl[Symbol.asyncIterator](),
    stderr: () => err,
    exited,
  };
}

function tsScript(name: string, profile = false): string[] {
  const prof =
    profile && CPU_PROF_DIR
      ? // One directory per process; the main thread's profile is the one whose name has tid 0
        // (the other is tsx's module loader thread, idle once loaded).
        ["--cpu-prof", `--cpu-prof-dir=${CPU_PROF_DIR}/${name.replace(/[/.]/g, "-")}-${Date.now()}`]
      : [];
  return [process.execPath, ...prof, "--import", "tsx", here(name)];
}

/** The next JSON line holding `key`, or an error if the process ends or time runs out. */
async function waitFor(p: Proc, key: string, timeoutMs: number): Promise<Record<string, unknown>> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`timed out after ${timeoutMs} ms waiting for "${key}"`)),
      timeoutMs,
    );
  });
  const read = (async () => {
    for (;;) {
      const next = await p.lines.next();
      if (next.done) {
        const code = await p.exited;
        throw new Error(`process ${p.pid} exited (${code}) before "${key}": ${p.stderr()}`);
      }
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(next.value) as Record<string, unknown>;
      } catch {
        continue; // not ours (a library printing)
      }
      if (typeof msg.fatal === "string") throw new Error(msg.fatal);
      if (key in msg) return msg;
    }
  })();
  try {
    return await Promise.race([read, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function stop(p: Proc): Promise<void> {
  p.child.stdin?.end(); // the process exits when its stdin closes
  // Writing a CPU profile at exit takes a moment.
  const grace = CPU_PROF_DIR ? 15_000 : 3000;
  const done = await Promise.race([p.exited.then(() => true), delay(grace).then(() => false)]);
  if (!done) {
    p.child.kill("SIGKILL");
    await p.exited;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, HOST, () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

// ---------------------------------------------------------------------------------
// Running one contender

interface Measured {
  id: string;
  calls: number;
  errors: number;
  firstError?: string;
  seconds: number;
  serverCpuS: number | undefined;
  callsPerS: number;
  callsPerCpuS: number | undefined;
  /** Share of one core the server used over the window. */
  serverCpuUtil: number | undefined;
  /** Share of one core the client (load generator) used: near 100% means it is the bottleneck. */
  clientCpuUtil: number | undefined;
  p50: number;
  p99: number;
  failed?: string;
  open?: ClientResult["open"];
}

async function runContender(c: Contender, extra: Partial<ClientConfig> = {}): Promise<Measured> {
  const serverCfg: ServerConfig = { maxLifetimeS: MAX_LIFETIME_S, ...c.serverCfg };
  let clientPorts: Partial<ClientConfig> = {};
  if (c.server === "moleculer") {
    serverCfg.molServerPort = await freePort();
    serverCfg.molClientPort = await freePort();
    clientPorts = {
      molServerPort: serverCfg.molServerPort,
      molClientPort: serverCfg.molClientPort,
    };
  }
  const server = start(SERVER_PIN, tsScript(`servers/${c.server}.ts`, c.server === "msec"), {
    BENCH_CFG: JSON.stringify(serverCfg),
  });
  try {
    const ready = await waitFor(server, "ready", 30_000);
    const port = Number(ready.port);
    if ("wrkPath" in c.client) return await runWrk(c, server.pid, port, c.client.wrkPath);
    const cfg: ClientConfig = {
      port,
      serverPid: server.pid,
      clkTck: CLK_TCK,
      mode: "closed",
      inflight: INFLIGHT,
      warmupS: WARMUP_S,
      measureS: MEASURE_S,
      maxLifetimeS: MAX_LIFETIME_S,
      ...clientPorts,
      ...c.client.cfg,
      ...extra,
    };
    const client = start(
      CLIENT_PIN,
      tsScript(`clients/${c.client.kind}.ts`, c.client.kind === "msec"),
      {
        BENCH_CFG: JSON.stringify(cfg),
      },
    );
    try {
      const msg = await waitFor(client, "result", (WARMUP_S + MEASURE_S + 60) * 1000);
      return fromClient(c.id, msg.result as ClientResult);
    } finally {
      await stop(client);
    }
  } finally {
    await stop(server);
  }
}

function fromClient(id: string, r: ClientResult): Measured {
  return {
    id,
    calls: r.calls,
    errors: r.errors,
    ...(r.firstError !== undefined ? { firstError: r.firstError } : {}),
    seconds: r.seconds,
    serverCpuS: r.serverCpuS,
    callsPerS: r.calls / r.seconds,
    callsPerCpuS: r.serverCpuS ? r.calls / r.serverCpuS : undefined,
    serverCpuUtil: r.serverCpuS !== undefined ? r.serverCpuS / r.seconds : undefined,
    clientCpuUtil: Number.isFinite(r.clientCpuS) ? r.clientCpuS / r.seconds : undefined,
    p50: r.latency.p50,
    p99: r.latency.p99,
    ...(r.open ? { open: r.open } : {}),
  };
}

async function runWrk(c: Contender, serverPid: number, port: number, path: string) {
  if (!hasWrk) throw new Error("wrk is not installed");
  const url = `http://${HOST}:${port}${path}`;
  const script = here("post.lua");
  const wrk = (seconds: number, latency: boolean) =>
    start(CLIENT_PIN, [
      "wrk",
      "-t1",
      `-c${INFLIGHT}`,
      `-d${seconds}s`,
      "--timeout",
      "5s",
      "-s",
      script,
      ...(latency ? ["--latency"] : []),
      url,
    ]);
  const collect = async (p: Proc) => {
    const out: string[] = [];
    for await (const line of p.lines) out.push(line);
    const code = await p.exited;
    if (code !== 0) throw new Error(`wrk exited with ${code}: ${p.stderr()}`);
    return out.join("\n");
  };
  await collect(wrk(WARMUP_S, false));
  const cpu0 = cpuSeconds(serverPid, CLK_TCK);
  const t0 = performance.now();
  const text = await collect(wrk(MEASURE_S, true));
  const wall = (performance.now() - t0) / 1000;
  const cpu1 = cpuSeconds(serverPid, CLK_TCK);
  return parseWrk(
    c.id,
    text,
    wall,
    cpu0 === undefined || cpu1 === undefined ? undefined : cpu1 - cpu0,
  );
}

function parseWrk(
  id: string,
  text: string,
  wall: number,
  serverCpuS: number | undefined,
): Measured {
  const total = /(\d+) requests in ([\d.]+)(us|ms|s|m)/.exec(text);
  if (!total) throw new Error(`cannot read wrk's output:\n${text}`);
  const calls = Number(total[1]);
  const seconds = toMs(Number(total[2]), total[3] as string) / 1000;
  const pct = (p: string) => {
    const m = new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, "m").exec(text);
    return m ? toMs(Number(m[1]), m[2] as string) : Number.NaN;
  };
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(text)?.[1] ?? 0);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const sockErrors = sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0;
  const errors = non2xx + sockErrors;
  return {
    id,
    calls,
    errors,
    ...(errors > 0 ? { firstError: `wrk: ${non2xx} non-2xx, ${sockErrors} socket errors` } : {}),
    seconds,
    serverCpuS,
    callsPerS: calls / seconds,
    // The CPU window is wrk's whole life (a few ms more than its measured seconds).
    callsPerCpuS: serverCpuS ? calls / serverCpuS : undefined,
    serverCpuUtil: serverCpuS !== undefined ? serverCpuS / wall : undefined,
    clientCpuUtil: undefined,
    p50: pct("50"),
    p99: pct("99"),
  };
}

function toMs(v: number, unit: string): number {
  return unit === "us" ? v / 1000 : unit === "ms" ? v : unit === "s" ? v * 1000 : v * 60_000;
}

// ---------------------------------------------------------------------------------
// Aggregation, targets, output

function median(xs: number[]): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

interface Row {
  id: string;
  label: string;
  group: "binary" | "http";
  callsPerS: number;
  callsPerCpuS: number;
  serverCpuUtil: number;
  clientCpuUtil: number;
  /** Calls per CPU-second of the client process (the load generator, also a library under test). */
  callsPerClientCpuS: number;
  p50: number;
  p99: number;
  errors: number;
  failed?: string;
  rounds: Measured[];
}

function aggregate(c: Contender, runs: Measured[]): Row {
  const ok = runs.filter((r) => !r.failed);
  const m = (f: (r: Measured) => number | undefined) => median(ok.map((r) => f(r) ?? Number.NaN));
  const failed = runs.find((r) => r.failed)?.failed;
  return {
    id: c.id,
    label: c.label,
    group: c.group,
    callsPerS: m((r) => r.callsPerS),
    callsPerCpuS: m((r) => r.callsPerCpuS),
    serverCpuUtil: m((r) => r.serverCpuUtil),
    clientCpuUtil: m((r) => r.clientCpuUtil),
    callsPerClientCpuS: m((r) => (r.clientCpuUtil ? r.callsPerS / r.clientCpuUtil : undefined)),
    p50: m((r) => r.p50),
    p99: m((r) => r.p99),
    errors: runs.reduce((a, r) => a + r.errors, 0),
    ...(failed !== undefined && ok.length === 0 ? { failed } : {}),
    rounds: runs,
  };
}

interface OpenRun extends Measured {
  label: string;
  targetRate: number;
}

interface Target {
  name: string;
  /** The primary value (calls per server-CPU-second based where it applies). */
  value: number;
  /** The same ratio on plain calls/s, for reference. */
  plainValue?: number;
  goal: string;
  met: boolean | undefined;
  unit: "x" | "%" | "ms";
}

function fmt(n: number | undefined, digits = 0): string {
  if (n === undefined || !Number.isFinite(n)) return "n/a";
  return n.toLocaleString("en-US", {
    maximumFractionDigits: digits,
    minimumFractionDigits: digits,
  });
}

function fmtValue(t: Target, v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return "n/a";
  return t.unit === "x"
    ? `${v.toFixed(2)}x`
    : t.unit === "%"
      ? `${v.toFixed(1)}%`
      : `${v.toFixed(2)} ms`;
}

function verdict(met: boolean | undefined): string {
  return met === undefined ? "n/a" : met ? "met" : "NOT met";
}

function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join("  ");
  return [line(headers), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

function markdownTable(headers: string[], rows: string[][]): string {
  return [
    `| ${headers.join(" | ")} |`,
    `|${headers.map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`,
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ].join("\n");
}

async function main(): Promise<void> {
  if (!existsSync(here("../../dist/runtime/index.js"))) {
    throw new Error(
      "dist/runtime/index.js is missing: run `npm run build` (or `npm run bench:rpc`)",
    );
  }
  const chosen = CONTENDERS.filter((c) => !ONLY || ONLY.includes(c.id));
  console.log(`msec RPC benchmark — ${machine.date}`);
  console.log(
    `machine: ${machine.cpuModel}, ${machine.cores} cores, node ${machine.node}, ${machine.platform}`,
  );
  console.log(`load average at start: ${machine.loadAvgAtStart.join(" ")}; ${machine.pinning}`);
  console.log(
    `each run: ${WARMUP_S} s warm-up + ${MEASURE_S} s measured, ${INFLIGHT} calls in flight, ${ROUNDS} round(s)\n`,
  );
  if (!pinned)
    console.log("WARNING: not pinned; calls per server-CPU-second is still meaningful.\n");

  const runs = new Map<string, Measured[]>(chosen.map((c) => [c.id, []]));
  for (let round = 1; round <= ROUNDS; round++) {
    for (const c of chosen) {
      process.stdout.write(`[round ${round}/${ROUNDS}] ${c.label} … `);
      let m: Measured;
      try {
        m = await runContender(c);
        process.stdout.write(
          `${fmt(m.callsPerS)} calls/s, ${fmt(m.callsPerCpuS)} calls/CPU-s, CPU server ${fmt((m.serverCpuUtil ?? Number.NaN) * 100)}% client ${fmt((m.clientCpuUtil ?? Number.NaN) * 100)}%, p99 ${fmt(m.p99, 2)} ms${m.errors ? `, ${m.errors} ERRORS (${m.firstError})` : ""}\n`,
        );
      } catch (e) {
        const msg = (e as Error).message.slice(0, 2000);
        m = {
          id: c.id,
          calls: 0,
          errors: 0,
          seconds: 0,
          serverCpuS: undefined,
          callsPerS: Number.NaN,
          callsPerCpuS: undefined,
          serverCpuUtil: undefined,
          clientCpuUtil: undefined,
          p50: Number.NaN,
          p99: Number.NaN,
          failed: msg,
        };
        process.stdout.write(`FAILED: ${msg}\n`);
      }
      runs.get(c.id)?.push(m);
    }
  }
  const rows = chosen.map((c) => aggregate(c, runs.get(c.id) ?? []));
  const byId = (id: string) => rows.find((r) => r.id === id);

  // Open loop at 80% of the rate msec (binary JSON, metrics on) reached above: msec for
  // its p99 at that load, and the bare node:net ceiling at the very same rate — a control
  // for the machine's noise, and server CPU per call at equal load (equal batching).
  const openRuns: OpenRun[] = [];
  const msecMax = byId("msec-json")?.callsPerS;
  if (msecMax !== undefined && Number.isFinite(msecMax) && msecMax > 0) {
    const rate = Math.round(msecMax * OPEN_LOOP_SHARE);
    for (const id of ["msec-json", "net"]) {
      const c = CONTENDERS.find((x) => x.id === id);
      if (!c || !byId(id)) continue;
      process.stdout.write(`[open loop] ${c.label} at ${fmt(rate)} calls/s (80% of msec's max) … `);
      try {
        const m = await runContender(c, { mode: "open", rate });
        openRuns.push({ ...m, label: c.label, targetRate: rate });
        process.stdout.write(
          `${fmt(m.callsPerS)} calls/s, ${fmt(m.callsPerCpuS)} calls/CPU-s, p50 ${fmt(m.p50, 2)} ms, p99 ${fmt(m.p99, 2)} ms\n`,
        );
      } catch (e) {
        process.stdout.write(`FAILED: ${(e as Error).message}\n`);
      }
    }
  }
  const openLoop = openRuns.find((r) => r.id === "msec-json");
  const netOpen = openRuns.find((r) => r.id === "net");
  machine.loadAvgAtEnd = os.loadavg().map((x) => Number(x.toFixed(2)));

  // Targets (msec binary JSON with metrics on is "msec").
  const msec = byId("msec-json");
  const ratio = (other: string, field: "callsPerCpuS" | "callsPerS") => {
    const o = byId(other);
    return msec && o ? msec[field] / o[field] : Number.NaN;
  };
  const check = (v: number, ok: (v: number) => boolean) => (Number.isFinite(v) ? ok(v) : undefined);
  const targets: Target[] = [];
  const addRatio = (other: string, name: string, min: number) => {
    const value = ratio(other, "callsPerCpuS");
    targets.push({
      name,
      value,
      plainValue: ratio(other, "callsPerS"),
      goal: `>= ${min.toFixed(1)}x`,
      met: check(value, (v) => v >= min),
      unit: "x",
    });
  };
  addRatio("moleculer", "msec binary ÷ Moleculer TCP", 1.0);
  addRatio("grpc", "msec binary ÷ grpc-js", 4.0);
  addRatio("net", "msec binary ÷ bare node:net (ceiling)", 0.6);
  const off = byId("msec-json-nometrics");
  const cost = (f: "callsPerCpuS" | "callsPerS" | "callsPerClientCpuS") =>
    msec && off ? ((off[f] - msec[f]) / off[f]) * 100 : Number.NaN;
  targets.push({
    name: "automatic metrics cost (off vs on)",
    value: cost("callsPerCpuS"),
    plainValue: cost("callsPerS"),
    goal: "<= 5%",
    met: check(cost("callsPerCpuS"), (v) => v <= 5),
    unit: "%",
  });
  targets.push({
    name: `p99 at 80% of max rate (${openLoop ? fmt(openLoop.targetRate) : "?"} calls/s)`,
    value: openLoop?.p99 ?? Number.NaN,
    goal: "< 5 ms",
    met: check(openLoop?.p99 ?? Number.NaN, (v) => v < 5),
    unit: "ms",
  });
  const httpRatio = (f: "callsPerCpuS" | "callsPerS") => {
    const a = byId("msec-http");
    const b = byId("node-http");
    return a && b ? a[f] / b[f] : Number.NaN;
  };

  // The results table.
  const headers = [
    "contender",
    "calls/s",
    "calls/server-CPU-s",
    "server CPU",
    "client CPU",
    "p50 ms",
    "p99 ms",
    "ref ÷ this (CPU)",
    "ref ÷ this (calls/s)",
  ];
  const cells = rows.map((r) => {
    const ref = r.group === "http" ? byId("msec-http") : msec;
    const label = `${r.label}${r.failed ? " — FAILED" : ""}${r.errors ? ` — ${r.errors} errors` : ""}`;
    return [
      label,
      fmt(r.callsPerS),
      fmt(r.callsPerCpuS),
      `${fmt(r.serverCpuUtil * 100)}%`,
      `${fmt(r.clientCpuUtil * 100)}%`,
      fmt(r.p50, 2),
      fmt(r.p99, 2),
      ref ? `${fmt(ref.callsPerCpuS / r.callsPerCpuS, 2)}x` : "n/a",
      ref ? `${fmt(ref.callsPerS / r.callsPerS, 2)}x` : "n/a",
    ];
  });
  const targetHeaders = ["target", "calls per server-CPU-s", "plain calls/s", "goal", "verdict"];
  const targetCells = targets.map((t) => [
    t.name,
    fmtValue(t, t.value),
    t.plainValue !== undefined ? fmtValue(t, t.plainValue) : "",
    t.goal,
    verdict(t.met),
  ]);
  const notes = [
    `Automatic metrics (on both sides) cost ${fmt(cost("callsPerCpuS"), 1)}% of calls per server-CPU-s (the target's measure), ${fmt(cost("callsPerClientCpuS"), 1)}% of calls per client-CPU-s, and ${fmt(cost("callsPerS"), 1)}% of plain calls/s.`,
    `ref = msec binary JSON with metrics on for the binary rows, msec HTTP for the HTTP rows; "ref ÷ this" over 1 means msec does better.`,
    `HTTP: msec Connect ÷ bare node:http = ${fmt(httpRatio("callsPerCpuS"), 2)}x per server-CPU-s, ${fmt(httpRatio("callsPerS"), 2)}x calls/s (no target; for reference).`,
    openLoop && netOpen
      ? `Equal load (open loop, both at ${fmt(openLoop.targetRate)} calls/s): msec ÷ bare node:net = ${fmt((openLoop.callsPerCpuS ?? Number.NaN) / (netOpen.callsPerCpuS ?? Number.NaN), 2)}x per server-CPU-s. The ceiling target above compares each at its own maximum rate, where the ceiling batches far more calls per read and write.`
      : "Equal-load comparison with node:net: not run.",
    openLoop
      ? `p99 at load: msec ${fmt(openLoop.p99, 2)} ms${netOpen ? ` vs ${fmt(netOpen.p99, 2)} ms for bare node:net at the same rate (the machine's own noise floor)` : ""}; from the scheduled time (adds client timer lag, no coordinated omission) msec ${fmt(openLoop.open?.fromSchedule.p99, 2)} ms.`
      : "Open loop: not run.",
  ];
  const openHeaders = [
    "open loop",
    "rate asked",
    "calls/s",
    "calls/server-CPU-s",
    "server CPU",
    "client CPU",
    "p50 ms",
    "p99 ms",
    "p99 from schedule",
    "max in flight",
  ];
  const openCells = openRuns.map((r) => [
    r.label,
    fmt(r.targetRate),
    fmt(r.callsPerS),
    fmt(r.callsPerCpuS),
    `${fmt((r.serverCpuUtil ?? Number.NaN) * 100)}%`,
    `${fmt((r.clientCpuUtil ?? Number.NaN) * 100)}%`,
    fmt(r.p50, 2),
    fmt(r.p99, 2),
    fmt(r.open?.fromSchedule.p99, 2),
    `${fmt(r.open?.maxInflight)}${r.open?.skipped ? ` (${fmt(r.open.skipped)} skipped)` : ""}`,
  ]);

  console.log(`\n${table(headers, cells)}\n`);
  if (openCells.length > 0) console.log(`${table(openHeaders, openCells)}\n`);
  console.log(`${table(targetHeaders, targetCells)}\n`);
  for (const n of notes) console.log(n);

  // Files.
  mkdirSync(RESULTS_DIR, { recursive: true });
  const stamp = machine.date.slice(0, 19).replace(/:/g, "-");
  const json = { machine, rows, openLoop: openRuns, targets, notes };
  // A partial run (BENCH_ONLY) keeps its JSON but leaves rpc-latest.md to full runs.
  const partial = ONLY !== undefined;
  const jsonPath = `${RESULTS_DIR}rpc-${stamp}${partial ? "-partial" : ""}.json`;
  writeFileSync(jsonPath, `${JSON.stringify(json, null, 2)}\n`);
  const md = [
    "# RPC benchmark — latest run",
    "",
    `- date: ${machine.date}`,
    `- machine: ${machine.cpuModel}, ${machine.cores} cores; node ${machine.node}; ${machine.platform}`,
    `- load average at start / end: ${machine.loadAvgAtStart.join(" ")} / ${machine.loadAvgAtEnd.join(" ")}`,
    `- ${machine.pinning}; ${WARMUP_S} s warm-up + ${MEASURE_S} s measured per run, ${INFLIGHT} calls in flight, ${ROUNDS} round(s) (median)`,
    "- echo of a 100-byte text; latency is client-side; server CPU from /proc over the measured window",
    "- the machine is shared and noisy: compare the ratios of one run, not absolute numbers across runs",
    "",
    "## Results",
    "",
    markdownTable(headers, cells),
    "",
    ...(openCells.length > 0 ? [markdownTable(openHeaders, openCells), ""] : []),
    "## Targets",
    "",
    markdownTable(targetHeaders, targetCells),
    "",
    ...notes.map((n) => `- ${n}`),
    "",
    `Raw data: \`bench/results/${jsonPath.slice(RESULTS_DIR.length)}\`.`,
    "",
  ].join("\n");
  const mdPath = `${RESULTS_DIR}rpc-latest${partial ? "-partial" : ""}.md`;
  writeFileSync(mdPath, md);
  console.log(`\nwrote ${jsonPath} and ${mdPath}`);
}

function positive(raw: string | undefined, fallback: number): number {
  const n = Number(raw);
  return raw !== undefined && Number.isFinite(n) && n > 0 ? n : fallback;
}

try {
  await main();
} catch (e) {
  console.error(`bench:rpc failed: ${(e as Error).stack ?? e}`);
  process.exitCode = 1;
} finally {
  killAll();
}
