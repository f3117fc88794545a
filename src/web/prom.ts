/** Calls and errors of one service's latest complete minute (all its RPC methods, as a server). */
export interface RpcMinute {
  calls: number;
  errors: number;
}

const SAMPLE = /^msec_attr_minute_increase\{(.*)\} (\S+)$/;
const LABEL = /(\w+)="((?:[^"\\]|\\.)*)"/g;
const CODE = /[{,]code=([^,}]*)/;

function isServerCalls(attr: string): boolean {
  return attr === "rpc.server.calls" || attr.startsWith("rpc.server.calls{");
}

function unescapeLabel(v: string): string {
  return v.replace(/\\(.)/g, (_m, c: string) => (c === "n" ? "\n" : c));
}

/**
 * Per service, the `rpc.server.calls{code,method,peer}` counters of the service total,
 * summed, from the console's Prometheus export (`GET /prometheus`): one request gives the
 * latest minute of every service. A code other than `ok` is an error.
 */
export function rpcMinutes(text: string): Map<string, RpcMinute> {
  const out = new Map<string, RpcMinute>();
  for (const line of text.split("\n")) {
    const m = SAMPLE.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[1] as string).matchAll(LABEL)) {
      labels[l[1] as string] = unescapeLabel(l[2] as string);
    }
    const { service, instance, attr } = labels;
    if (!service || instance !== "*" || attr === undefined || !isServerCalls(attr)) continue;
    const value = Number(m[2]);
    if (!Number.isFinite(value)) continue;
    let figures = out.get(service);
    if (!figures) {
      figures = { calls: 0, errors: 0 };
      out.set(service, figures);
    }
    figures.calls += value;
    const code = CODE.exec(attr)?.[1];
    if (code !== undefined && code !== "ok") figures.errors += value;
  }
  return out;
}
