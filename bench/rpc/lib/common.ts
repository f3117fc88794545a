/**
 * Shared by the orchestrator, the servers and the clients of the RPC benchmark:
 * the message, the latency histogram, reading a process's CPU time, and the
 * line protocol on stdout (one JSON object per line).
 */
import { readFileSync } from "node:fs";

/** The echoed message: 100 bytes of ASCII text (post.lua carries the same). */
export const TEXT = "0123456789".repeat(10);

/** Every address in the benchmark. */
export const HOST = "127.0.0.1";

/** What the orchestrator passes a server (env BENCH_CFG). */
export interface ServerConfig {
  /** msec: record automatic metrics. */
  metrics?: boolean;
  /** Moleculer: fixed TCP ports of the two brokers. */
  molServerPort?: number;
  molClientPort?: number;
  /** Hard stop, whatever happens (seconds). */
  maxLifetimeS: number;
}

/** What the orchestrator passes a client (env BENCH_CFG). */
export interface ClientConfig {
  port: number;
  serverPid: number;
  clkTck: number;
  mode: "closed" | "open";
  /** Closed loop: calls kept in flight. */
  inflight: number;
  /** Open loop: calls per second issued on a schedule, whatever the replies do. */
  rate?: number;
  warmupS: number;
  measureS: number;
  /** msec: record automatic metrics; use protobuf bodies. */
  metrics?: boolean;
  proto?: boolean;
  molServerPort?: number;
  molClientPort?: number;
  maxLifetimeS: number;
}

export interface LatencySummary {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

/** What a client prints as its last line. */
export interface ClientResult {
  calls: number;
  errors: number;
  firstError?: string;
  seconds: number;
  /** CPU seconds the server process used over the measured window; undefined without /proc. */
  serverCpuS: number | undefined;
  /** CPU seconds the client process used over the measured window (who is the bottleneck?). */
  clientCpuS: number;
  /** Client-side latency of each call, from the moment it was issued, in ms. */
  latency: LatencySummary;
  open?: {
    targetRate: number;
    issued: number;
    /** Scheduled calls not issued because too many were already in flight. */
    skipped: number;
    /** Most calls outstanding during the measured window. */
    maxInflight: number;
    /** Latency from the moment each call was scheduled (no coordinated omission), in ms. */
    fromSchedule: LatencySummary;
  };
}

export function readConfig<T>(): T {
  const raw = process.env.BENCH_CFG;
  if (!raw) throw new Error("BENCH_CFG is not set: run this through bench/rpc/run.ts");
  return JSON.parse(raw) as T;
}

/** One JSON line on stdout for the orchestrator. */
export function emit(msg: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(msg)}\n`);
}

/**
 * Stop when the orchestrator goes away (its end of our stdin closes) or after
 * `maxLifetimeS`, whichever comes first: no process of the benchmark outlives it.
 */
export function dieWithParent(maxLifetimeS: number): void {
  process.stdin.on("end", () => process.exit(0));
  process.stdin.on("error", () => process.exit(0));
  process.stdin.resume();
  setTimeout(() => {
    process.stderr.write(`bench process ${process.pid}: lifetime of ${maxLifetimeS} s is over\n`);
    process.exit(3);
  }, maxLifetimeS * 1000).unref();
}

/** User + system CPU seconds of a process (all its threads), from /proc; undefined elsewhere. */
export function cpuSeconds(pid: number, clkTck: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    // Fields after the command name (which may hold spaces), from field 3 (state) on.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    if (!Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
    return (utime + stime) / clkTck;
  } catch {
    return undefined;
  }
}

/**
 * A log-bucketed latency histogram (HDR-like): 1% relative precision from 1 µs to
 * beyond 10 minutes, fixed memory, O(1) record.
 */
export class LatencyHistogram {
  private static readonly LOG_STEP = Math.log(1.01);
  private readonly counts = new Uint32Array(2400);
  private n = 0;
  private sum = 0;
  private maxMs = 0;

  record(ms: number): void {
    const us = ms * 1000;
    const i = us <= 1 ? 0 : Math.min(2399, Math.ceil(Math.log(us) / LatencyHistogram.LOG_STEP));
    this.counts[i] = (this.counts[i] ?? 0) + 1;
    this.n++;
    this.sum += ms;
    if (ms > this.maxMs) this.maxMs = ms;
  }

  /** The value (ms) at or under which `q` of the samples lie (bucket upper bound). */
  quantile(q: number): number {
    if (this.n === 0) return Number.NaN;
    const rank = Math.max(1, Math.ceil(q * this.n));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i] ?? 0;
      if (seen >= rank) return Math.min(this.maxMs, 1.01 ** i / 1000);
    }
    return this.maxMs;
  }

  summary(): LatencySummary {
    return {
      count: this.n,
      mean: this.n === 0 ? Number.NaN : this.sum / this.n,
      p50: this.quantile(0.5),
      p90: this.quantile(0.9),
      p99: this.quantile(0.99),
      p999: this.quantile(0.999),
      max: this.maxMs,
    };
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
