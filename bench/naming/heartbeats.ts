/**
 * Name-service heartbeat throughput: a real console on the embedded store, pinned to
 * one core, takes batched heartbeats (as agents send them: every instance of a machine
 * in one call) from a client on the other core. Reports beats per console CPU-second.
 * Target (issue): ≥ 20,000 beats/s on one core.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { startBenchConsole } from "../lib/console.js";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 6);
const INSTANCES = 5000;
const BATCH = 1000;
const dir = mkdtempSync(join(tmpdir(), "msec-bench-naming-"));
const server = await startBenchConsole({ dir, pin: true, maxLifetimeS: SECONDS + 120 });

try {
  const { url, token } = server;
  const api = `${url}/api/v1`;
  const headers = { "content-type": "application/json", authorization: `Bearer ${token}` };

  const addrs = Array.from({ length: INSTANCES }, (_, i) => ({
    service: `Bench.S${i % 20}`,
    addr: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:8080`,
  }));
  for (let i = 0; i < addrs.length; i += 50) {
    await Promise.all(
      addrs.slice(i, i + 50).map((a) =>
        fetch(`${api}/services/${a.service}/instances`, {
          method: "POST",
          headers,
          body: JSON.stringify({ addr: a.addr, ttlSeconds: 60 }),
        }),
      ),
    );
  }
  const batches: string[] = [];
  for (let i = 0; i < addrs.length; i += BATCH)
    batches.push(JSON.stringify({ beats: addrs.slice(i, i + BATCH) }));

  const cpuBefore = server.cpuSeconds();
  const started = performance.now();
  let beats = 0;
  const until = Date.now() + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: 4 }, async (_, w) => {
      for (let i = w; Date.now() < until; i++) {
        const r = await fetch(`${api}/naming/heartbeats`, {
          method: "POST",
          headers,
          body: batches[i % batches.length] as string,
        });
        if (!r.ok) throw new Error(`heartbeat answered ${r.status}`);
        await r.arrayBuffer();
        beats += BATCH;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const cpu = server.cpuSeconds() - cpuBefore;
  const machine = `${cpus()[0]?.model ?? "?"}, ${cpus().length} cores, node ${process.version}, load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(" ")}`;
  const lines = [
    `# Name-service heartbeats — ${new Date().toISOString()}`,
    "",
    `Machine: ${machine} (shared and noisy).`,
    "",
    `- ${INSTANCES} registered instances, batches of ${BATCH} beats, 4 concurrent senders, ${SECONDS} s, console pinned to one core on SQLite`,
    `- ${Math.round(beats / seconds)} beats/s wall clock; console CPU ${cpu.toFixed(2)} s → **${Math.round(beats / cpu)} beats per console CPU-second**`,
    `- target ≥ 20,000 beats/s on one core: ${beats / Math.max(cpu, seconds) >= 20_000 ? "met" : "NOT met"}`,
    "",
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
  mkdirSync("bench/results", { recursive: true });
  writeFileSync("bench/results/naming-latest.md", `${lines.join("\n")}\n`);
} finally {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
