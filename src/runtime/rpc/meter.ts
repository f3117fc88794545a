import type { Counter, Histogram, MetricsRegistry } from "../metrics/registry.js";

/** One (method, peer) pair's handles: calls by code, and latency. */
export class MeterEntry {
  private readonly byCode = new Map<string, Counter>();
  readonly latency: Histogram;

  constructor(
    private readonly registry: MetricsRegistry,
    private readonly name: string,
    private readonly method: string,
    private readonly peer: string,
    latencyName: string,
  ) {
    this.latency = registry.histogram(latencyName, { method, peer });
  }

  record(code: string, ms: number): void {
    let c = this.byCode.get(code);
    if (c === undefined) {
      c = this.registry.counter(this.name, { method: this.method, peer: this.peer, code });
      this.byCode.set(code, c);
    }
    c.value++;
    this.latency.observe(ms);
  }
}

/**
 * The automatic RPC metrics of one side (server or client): calls and errors by code,
 * and latency, per method and peer. Handles are cached by method then peer (no string
 * building per call), so a call costs two or three map lookups and two adds.
 */
export class RpcMeter {
  private readonly entries = new Map<string, Map<string, MeterEntry>>();
  private readonly callsName: string;
  private readonly latencyName: string;

  constructor(
    private readonly registry: MetricsRegistry,
    side: "server" | "client",
  ) {
    this.callsName = `rpc.${side}.calls`;
    this.latencyName = `rpc.${side}.latency_ms`;
  }

  entry(method: string, peer: string): MeterEntry {
    let byPeer = this.entries.get(method);
    if (byPeer === undefined) {
      byPeer = new Map();
      this.entries.set(method, byPeer);
    }
    let e = byPeer.get(peer);
    if (e === undefined) {
      e = new MeterEntry(this.registry, this.callsName, method, peer, this.latencyName);
      byPeer.set(peer, e);
    }
    return e;
  }

  record(method: string, peer: string, code: string, ms: number): void {
    this.entry(method, peer).record(code, ms);
  }
}

/** The host part of `ip:port` (callers come from random ports: the port is noise). */
export function hostOf(addr: string): string {
  const i = addr.lastIndexOf(":");
  return i < 0 ? addr : addr.slice(0, i);
}
