/**
 * Steady load for the release benchmark: calls Echo at a fixed rate (open loop)
 * through the name service until SIGTERM, then prints one JSON line with the counts.
 * Env: MSEC_CONSOLE, MSEC_TOKEN, BENCH_RATE (calls/s), BENCH_SERVICE.
 */
import { createClient } from "../../dist/runtime/index.js";

const rate = Number(process.env.BENCH_RATE ?? 2000);
const service = process.env.BENCH_SERVICE ?? "Bench.Echo";
const client = createClient(service);
let ok = 0;
let failed = 0;
let inFlight = 0;
const errors = new Map<string, number>();
const started = Date.now();
let issued = 0;
let stopping = false;

// Issue calls on a 10 ms schedule so the rate holds whatever the replies do.
const tick = setInterval(() => {
  const due = Math.floor(((Date.now() - started) / 1000) * rate) - issued;
  for (let i = 0; i < due; i++) {
    issued++;
    inFlight++;
    client
      .call("Echo", { text: "hello" }, { timeoutMs: 2000 })
      .then(
        () => {
          ok++;
        },
        (e: Error) => {
          failed++;
          const key = e.message.slice(0, 120);
          errors.set(key, (errors.get(key) ?? 0) + 1);
        },
      )
      .finally(() => {
        inFlight--;
      });
  }
}, 10);

async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  clearInterval(tick);
  const deadline = Date.now() + 5000;
  while (inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const seconds = (Date.now() - started) / 1000;
  process.stdout.write(
    `${JSON.stringify({ ok, failed, seconds, rate: ok / seconds, errors: Object.fromEntries(errors) })}\n`,
  );
  process.exit(0);
}
process.on("SIGTERM", () => void stop());
process.on("SIGINT", () => void stop());
// Never outlive the benchmark.
setTimeout(() => void stop(), 600_000).unref();
