/**
 * The load generator every binary-protocol client shares, so that contenders differ
 * only in their `call()`:
 *
 * - closed loop: exactly `inflight` calls outstanding; each reply issues the next call;
 * - open loop: calls issued on a fixed schedule (`rate` per second, checked every
 *   millisecond) whatever the replies do, for latency at a given load.
 *
 * Warm-up first, then a measured window: calls completed in the window, their latency,
 * and the server process's CPU time over the window (read from /proc at its edges).
 * Prints one `{"result": ...}` line and exits.
 */
import { performance } from "node:perf_hooks";
import {
  type ClientConfig,
  type ClientResult,
  cpuSeconds,
  dieWithParent,
  emit,
  LatencyHistogram,
  readConfig,
  sleep,
} from "./common.js";

export interface Caller {
  /** One echo call of the 100-byte message; rejects on failure. */
  call(): Promise<unknown>;
  close(): Promise<void> | void;
}

/** Stop a run that fails over and over instead of spinning. */
const MAX_ERRORS = 10_000;
/** Open loop: never more than this many calls outstanding (the rest are counted as skipped). */
const OPEN_LOOP_CAP = 20_000;

export async function runClient(make: (cfg: ClientConfig) => Promise<Caller>): Promise<void> {
  const cfg = readConfig<ClientConfig>();
  dieWithParent(cfg.maxLifetimeS);
  let caller: Caller;
  try {
    caller = await make(cfg);
    // A first call proves the path works before the clock starts.
    await caller.call();
  } catch (e) {
    emit({ fatal: `client could not start: ${(e as Error).stack ?? String(e)}` });
    process.exit(2);
  }
  const result = cfg.mode === "open" ? await openLoop(cfg, caller) : await closedLoop(cfg, caller);
  emit({ result });
  try {
    await Promise.race([caller.close(), sleep(2000)]);
  } catch {
    // closing is best effort
  }
  process.exit(0);
}

interface Window {
  /** 0 warm-up, 1 measured, 2 over. */
  phase: number;
  t0: number;
  t1: number;
  cpu0: number | undefined;
  cpu1: number | undefined;
  /** This process's CPU over the window (µs). */
  own: NodeJS.CpuUsage | undefined;
}

async function timeline(cfg: ClientConfig, w: Window): Promise<void> {
  await sleep(cfg.warmupS * 1000);
  w.cpu0 = cpuSeconds(cfg.serverPid, cfg.clkTck);
  const own0 = process.cpuUsage();
  w.t0 = performance.now();
  w.phase = 1;
  await sleep(cfg.measureS * 1000);
  w.phase = 2;
  w.t1 = performance.now();
  w.cpu1 = cpuSeconds(cfg.serverPid, cfg.clkTck);
  w.own = process.cpuUsage(own0);
}

function clientCpu(w: Window): number {
  return w.own ? (w.own.user + w.own.system) / 1e6 : Number.NaN;
}

function serverCpu(w: Window): number | undefined {
  return w.cpu0 === undefined || w.cpu1 === undefined ? undefined : w.cpu1 - w.cpu0;
}

async function closedLoop(cfg: ClientConfig, caller: Caller): Promise<ClientResult> {
  const w: Window = { phase: 0, t0: 0, t1: 0, cpu0: undefined, cpu1: undefined, own: undefined };
  const hist = new LatencyHistogram();
  let calls = 0;
  let errors = 0;
  let allErrors = 0;
  let firstError: string | undefined;

  const worker = async () => {
    while (w.phase < 2 && allErrors < MAX_ERRORS) {
      const started = performance.now();
      try {
        await caller.call();
      } catch (e) {
        allErrors++;
        if (w.phase === 1) errors++;
        firstError ??= String((e as Error).message ?? e);
        continue;
      }
      if (w.phase === 1) {
        calls++;
        hist.record(performance.now() - started);
      }
    }
  };
  const workers: Promise<void>[] = [];
  for (let i = 0; i < cfg.inflight; i++) workers.push(worker());
  await timeline(cfg, w);
  // Let the calls in flight finish (bounded): they are outside the window anyway.
  await Promise.race([Promise.all(workers), sleep(3000)]);
  return {
    calls,
    errors,
    ...(firstError !== undefined ? { firstError } : {}),
    seconds: (w.t1 - w.t0) / 1000,
    serverCpuS: serverCpu(w),
    clientCpuS: clientCpu(w),
    latency: hist.summary(),
  };
}

async function openLoop(cfg: ClientConfig, caller: Caller): Promise<ClientResult> {
  const rate = cfg.rate ?? 1000;
  const w: Window = { phase: 0, t0: 0, t1: 0, cpu0: undefined, cpu1: undefined, own: undefined };
  const hist = new LatencyHistogram();
  const fromSchedule = new LatencyHistogram();
  let calls = 0;
  let errors = 0;
  let firstError: string | undefined;
  let measuredIssued = 0;
  let skipped = 0;
  let inflight = 0;
  let maxInflight = 0;
  const start = performance.now();
  const rampMs = cfg.warmupS * 1000 * 0.75;
  let last = start;
  let credit = 0;

  const issue = (scheduled: number) => {
    inflight++;
    if (inflight > maxInflight && w.phase === 1) maxInflight = inflight;
    const started = performance.now();
    caller.call().then(
      () => {
        inflight--;
        if (w.phase === 1) {
          const now = performance.now();
          calls++;
          hist.record(now - started);
          fromSchedule.record(now - scheduled);
        }
      },
      (e: unknown) => {
        inflight--;
        if (w.phase === 1) errors++;
        firstError ??= String((e as Error).message ?? e);
      },
    );
  };
  // Calls fall due at `rate` per second (ramped up from 20% over most of the warm-up, so
  // that a cold process does not start with a backlog); each tick issues those due.
  const tick = () => {
    const now = performance.now();
    const current =
      w.phase === 0 && rampMs > 0 ? rate * Math.min(1, 0.2 + (0.8 * (now - start)) / rampMs) : rate;
    credit += ((now - last) * current) / 1000;
    last = now;
    const n = Math.floor(credit);
    credit -= n;
    for (let k = 0; k < n; k++) {
      // When this call fell due, spreading the calls of this tick over the time they took.
      const scheduled = now - ((credit + (n - 1 - k)) * 1000) / current;

      if (w.phase === 1) measuredIssued++;
      if (inflight >= OPEN_LOOP_CAP) {
        if (w.phase === 1) skipped++;
        continue;
      }
      issue(scheduled);
    }
  };
  const timer = setInterval(tick, 1);
  await timeline(cfg, w);
  clearInterval(timer);
  const drainUntil = performance.now() + 3000;
  while (inflight > 0 && performance.now() < drainUntil) await sleep(5);
  return {
    calls,
    errors,
    ...(firstError !== undefined ? { firstError } : {}),
    seconds: (w.t1 - w.t0) / 1000,
    serverCpuS: serverCpu(w),
    clientCpuS: clientCpu(w),
    latency: hist.summary(),
    open: {
      targetRate: rate,
      issued: measuredIssued,
      skipped,
      maxInflight,
      fromSchedule: fromSchedule.summary(),
    },
  };
}
