/**
 * Release benchmark: one real console process and N agents (default 100) on this
 * machine. The agents run in-process here (the real `startAgent`, each with its own
 * root, talking to the console over real HTTP); every service instance is a real
 * Node process. Measured, with the console's CPU time for each:
 *   1. the first full release to all machines (one batch);
 *   2. a config-only release to all (target ≤ 5 s);
 *   3. a package release in 3 batches (1 machine, 50%, rest) while a separate client
 *      process calls the service at a fixed rate (target: 0 failed calls at 2,000/s).
 * Env: BENCH_AGENTS (100), BENCH_RATE (2000).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { type RunningAgent, startAgent } from "../../dist/agent/index.js";
import { createLogger } from "../../dist/core/log.js";
import { echoPackage, tarGz, uploadArtifact } from "../../test/support/packages.js";
import { startBenchConsole } from "../lib/console.js";

const AGENTS = Number(process.env.BENCH_AGENTS ?? 100);
const RATE = Number(process.env.BENCH_RATE ?? 2000);
const SERVICE = "Bench.Echo";

const dir = mkdtempSync(join(tmpdir(), "msec-bench-release-"));
const log = createLogger({ level: "error" });
const machine = {
  date: new Date().toISOString(),
  cpu: cpus()[0]?.model ?? "unknown",
  cores: cpus().length,
  node: process.version,
  loadavg: loadavg()
    .map((l) => l.toFixed(2))
    .join(" "),
};

const server = await startBenchConsole({
  dir,
  env: { MSEC_RELEASE_TICK_MS: "200" },
  maxLifetimeS: 900,
});
let load: ChildProcess | undefined;
const agents: RunningAgent[] = [];
// Never outlive a stuck run.
const killer = setTimeout(() => {
  server.proc.kill("SIGKILL");
  load?.kill("SIGKILL");
  process.exit(3);
}, 900_000);

const consoleCpu = () => server.cpuSeconds();

async function api(url: string, token: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${url}/api/v1${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

/** Create, execute and wait for a plan; seconds from execute to the end, and the console's CPU. */
async function release(url: string, token: string, spec: Record<string, unknown>) {
  const plan = await api(url, token, "POST", "/releases", { service: SERVICE, ...spec });
  const cpu0 = consoleCpu();
  const t0 = performance.now();
  await api(url, token, "POST", `/releases/${plan.id}/execute`, {});
  for (;;) {
    const now = await api(url, token, "GET", `/releases/${plan.id}`);
    if (["succeeded", "failed", "aborted", "rolled_back"].includes(String(now.state))) {
      if (now.state !== "succeeded") throw new Error(`plan ${plan.id} ${now.state}: ${now.error}`);
      return { seconds: (performance.now() - t0) / 1000, consoleCpuS: consoleCpu() - cpu0 };
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

const results: Record<string, number> = {};
try {
  const { url, token } = server;
  const v1 = await uploadArtifact(
    url,
    token,
    SERVICE,
    "package",
    await tarGz(echoPackage({ tag: "v1", healthTimeoutMs: 120_000 })),
  );
  const v2 = await uploadArtifact(
    url,
    token,
    SERVICE,
    "package",
    await tarGz(echoPackage({ tag: "v2", healthTimeoutMs: 120_000 })),
  );
  const c1 = await uploadArtifact(url, token, SERVICE, "config", Buffer.from("one\n"), "app.txt");
  const c2 = await uploadArtifact(url, token, SERVICE, "config", Buffer.from("two\n"), "app.txt");

  // N agents, enrolled with their own join tokens, each with its own root.
  const started = performance.now();
  for (let i = 0; i < AGENTS; i++) {
    const jt = await api(url, token, "POST", "/machines/tokens", {});
    agents.push(
      await startAgent({
        consoleUrl: url,
        joinToken: String(jt.token),
        root: join(dir, `agent-${i}`),
        name: `m${String(i).padStart(3, "0")}`,
        log,
        // Agents of one benchmark share one event loop: spare it the 5 s probes.
        timing: { probeIntervalMs: 15_000, drainWaitMs: 2000 },
      }),
    );
  }
  results.agents = AGENTS;
  results.enrollSeconds = (performance.now() - started) / 1000;
  const names = agents.map((a) => a.machine);

  const first = await release(url, token, {
    targets: { kind: "machines", machines: names },
    type: "full",
    versions: { package: v1.version, configs: [c1.version] },
    gate: { healthSeconds: 0, approval: false },
    deployTimeoutSeconds: 600,
  });
  results.firstReleaseSeconds = first.seconds;
  results.firstReleaseConsoleCpuS = first.consoleCpuS;

  const config = await release(url, token, {
    targets: { kind: "percent", percent: 100 },
    type: "config",
    versions: { configs: [c2.version] },
    gate: { healthSeconds: 0, approval: false },
  });
  results.configReleaseSeconds = config.seconds;
  results.configReleaseConsoleCpuS = config.consoleCpuS;

  // The steady client: its own process, resolving through the name service.
  load = spawn(process.execPath, ["--import", "tsx", "bench/release/load.ts"], {
    env: {
      ...process.env,
      MSEC_CONSOLE: url,
      MSEC_TOKEN: token,
      BENCH_RATE: String(RATE),
      BENCH_SERVICE: SERVICE,
      MSEC_CACHE_DIR: join(dir, "client-cache"),
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let loadOut = "";
  load.stdout?.on("data", (d: Buffer) => {
    loadOut += d.toString();
  });
  await new Promise((r) => setTimeout(r, 3000));
  const pkg = await release(url, token, {
    targets: { kind: "percent", percent: 100 },
    type: "code",
    versions: { package: v2.version },
    batches: [{ machines: 1 }, { percent: 50 }, { rest: true }],
    gate: { healthSeconds: 0, approval: false },
    deployTimeoutSeconds: 600,
  });
  results.packageReleaseSeconds = pkg.seconds;
  results.packageReleaseConsoleCpuS = pkg.consoleCpuS;
  await new Promise((r) => setTimeout(r, 2000));
  const loadDone = new Promise<void>((r) => load?.once("exit", () => r()));
  load.kill("SIGTERM");
  await loadDone;
  const counts = JSON.parse(loadOut.trim().split("\n").pop() ?? "{}") as {
    ok: number;
    failed: number;
    rate: number;
    errors: Record<string, number>;
  };
  results.loadOk = counts.ok;
  results.loadFailed = counts.failed;
  results.loadRate = counts.rate;
  if (counts.failed > 0) process.stderr.write(`failed calls: ${JSON.stringify(counts.errors)}\n`);
} finally {
  await Promise.all(agents.map((a) => a.stop({ stopServices: true }).catch(() => {})));
  await server.stop();
  clearTimeout(killer);
  rmSync(dir, { recursive: true, force: true });
}

const f = (n: number | undefined, d = 2) => (n ?? Number.NaN).toFixed(d);
const lines = [
  `# Release benchmark — ${machine.date}`,
  "",
  `Machine: ${machine.cpu}, ${machine.cores} cores, node ${machine.node}, load ${machine.loadavg} (shared and noisy).`,
  "",
  `${results.agents} agents in the benchmark's process (the real agent code, each with its own root, over real HTTP to a console process on the embedded store); every service instance is its own Node process. Times are from \`execute\` to the plan's \`succeeded\`; console CPU is its process's user+system time over that span.`,
  "",
  "| release | time (s) | console CPU (s) |",
  "|---|---|---|",
  `| first full release to all (1 batch: ${results.agents} new processes) | ${f(results.firstReleaseSeconds)} | ${f(results.firstReleaseConsoleCpuS)} |`,
  `| config-only release to all (in place, no restart) | ${f(results.configReleaseSeconds)} | ${f(results.configReleaseConsoleCpuS)} |`,
  `| package release in 3 batches (1, 50%, rest) under load | ${f(results.packageReleaseSeconds)} | ${f(results.packageReleaseConsoleCpuS)} |`,
  "",
  `Load during the package release: ${results.loadOk} calls answered, ${results.loadFailed} failed, ${f(results.loadRate, 0)} calls/s (target rate ${RATE}).`,
  "",
  "Targets:",
  `- config release to ${results.agents} agents ≤ 5 s: ${f(results.configReleaseSeconds)} — ${(results.configReleaseSeconds ?? 99) <= 5 ? "met" : "NOT met"}`,
  `- reload under ${RATE} calls/s with 0 failed calls: ${results.loadFailed} failed at ${f(results.loadRate, 0)}/s — ${results.loadFailed === 0 && (results.loadRate ?? 0) >= RATE * 0.95 ? "met" : "NOT met"}`,
  "",
];
process.stdout.write(`${lines.join("\n")}\n`);
mkdirSync("bench/results", { recursive: true });
writeFileSync(
  `bench/results/release-${machine.date.slice(0, 10)}.json`,
  `${JSON.stringify({ machine, results }, null, 2)}\n`,
);
writeFileSync("bench/results/release-latest.md", `${lines.join("\n")}\n`);
process.exit(0);
