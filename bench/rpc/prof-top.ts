/**
 * Top self-time functions of a V8 CPU profile (`node --cpu-prof`), e.g. one written by
 * `BENCH_CPU_PROF=/tmp/prof npm run bench:rpc`:
 *
 *   npx tsx bench/rpc/prof-top.ts <dir>/servers-msec-ts-<n>/CPU.*.0.001.cpuprofile [count] [skipSeconds]
 *
 * Percentages are of the busy (non-idle) time after the first `skipSeconds` (default 3:
 * start-up and warm-up), so they add up to the process's CPU while under load.
 */
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

process.stdout.on("error", () => process.exit(0)); // e.g. piped into head
const [file, countArg, skipArg] = process.argv.slice(2);
if (!file) {
  console.error("usage: tsx bench/rpc/prof-top.ts <file.cpuprofile> [count]");
  process.exit(2);
}
const count = Number(countArg ?? 30);
const skipUs = Number(skipArg ?? 3) * 1e6;
const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const self = new Map<string, number>();
const total = new Map<string, number>();
let all = 0;
let idle = 0;
let clock = 0;
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] ?? 0;
  clock += dt;
  if (clock < skipUs) return;
  const node = byId.get(id);
  if (!node) return;
  const key = label(node);
  if (key === "(idle)") {
    idle += dt;
    return;
  }
  all += dt;
  self.set(key, (self.get(key) ?? 0) + dt);
  // Inclusive time: every distinct function on the stack.
  const seen = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
    const n = byId.get(at);
    if (!n) break;
    const k = label(n);
    if (!seen.has(k)) {
      seen.add(k);
      total.set(k, (total.get(k) ?? 0) + dt);
    }
  }
});

function label(n: ProfileNode): string {
  const f = n.callFrame;
  const url = f.url.replace(/^file:\/\//, "").replace(/^.*\/(node_modules|dist|bench)\//, "$1/");
  return `${f.functionName || "(anonymous)"} ${url ? `${url}:${f.lineNumber + 1}` : ""}`.trim();
}

const pct = (v: number) => `${((v / all) * 100).toFixed(1)}%`.padStart(6);
console.log(
  `${file}: ${(all / 1e6).toFixed(2)} s busy, ${(idle / 1e6).toFixed(2)} s idle after the first ${skipUs / 1e6} s; % of busy time\n`,
);
console.log("self    total   function");
for (const [k, v] of [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, count)) {
  console.log(`${pct(v)}  ${pct(total.get(k) ?? 0)}  ${k}`);
}
console.log("\nby inclusive time (msec code only):");
for (const [k, v] of [...total.entries()]
  .filter(([k]) => k.includes("dist/"))
  .sort((a, b) => b[1] - a[1])
  .slice(0, count)) {
  console.log(`${pct(self.get(k) ?? 0)}  ${pct(v)}  ${k}`);
}
