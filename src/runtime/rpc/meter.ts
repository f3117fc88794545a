import type { Counter, Histogram, MetricsRegistry } from "../metrics/registry.js";

/**
 * The automatic RPC metrics of one side (server or client): calls and errors by code,
 * and latency, per method and peer. Handles are cached per (method, peer, code) so a
 * call costs two map lookups and two adds.
 */
export class RpcMeter {
  private readonly calls = new Map<string, Counter>();
  private readonly latency = new Map<string, Histogram>();

  constructor(
    private readonly registry: MetricsRegistry,
    private readonly side: "server" | "client",
  ) {}

  record(method: string, peer: string, code: string, ms: number): void {
    const key = `${method}\u0000${peer}\u0000${code}`;
    let c = this.calls.get(key);
    if (c === undefined) {
      c = this.registry.counter(`rpc.${this.side}.calls`, { method, peer, code });
      this.calls.set(key, c);
    }
    c.value++;
    const lkey = `${method}\u0000${peer}`;
    let h = this.latency.get(lkey);
    if (h === undefined) {
      h = this.registry.histogram(`rpc.${this.side}.latency_ms`, { method, peer });
      this.latency.set(lkey, h);
    }
    h.observe(ms);
  }
}

/** The host part of `ip:port` (callers come from random ports: the port is noise). */
export function hostOf(addr: string): string {
  const i = addr.lastIndexOf(":");
  return i < 0 ? addr : addr.slice(0, i);
}
