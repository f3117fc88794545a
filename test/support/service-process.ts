import { fileURLToPath } from "node:url";
import { startWatched, type WatchedProcess } from "./process.js";

const DEMO = (name: string) =>
  fileURLToPath(new URL(`../../dist/examples/demo/${name}.js`, import.meta.url));

export interface ServiceProcess extends WatchedProcess {
  addr: string;
  port: number;
}

/** Start a demo service (`echo` or `login`) as a real process and wait until it listens. */
export async function startDemo(
  name: "echo" | "login",
  env: Record<string, string> = {},
): Promise<ServiceProcess> {
  const p = await startWatched(name, [DEMO(name)], {
    ready: / listening on (\S+)/,
    env: { MSEC_PORT: "0", MSEC_LOG_LEVEL: "warn", ...env },
    timeoutMs: 20_000,
  });
  const addr = p.ready[1] as string;
  return { ...p, addr, port: Number(addr.slice(addr.lastIndexOf(":") + 1)) };
}
