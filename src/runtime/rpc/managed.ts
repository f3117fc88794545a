/** What the agent tells a process it runs (docs/agent-protocol.md, section 4). */
export interface ManagedEnv {
  managed: boolean;
  port: number | undefined;
  host: string | undefined;
}

export function managedEnv(env: NodeJS.ProcessEnv = process.env): ManagedEnv {
  const port = env.MSEC_PORT === undefined || env.MSEC_PORT === "" ? NaN : Number(env.MSEC_PORT);
  return {
    managed: env.MSEC_MANAGED === "1",
    port: Number.isInteger(port) && port >= 0 && port <= 65535 ? port : undefined,
    host: env.MSEC_HOST || undefined,
  };
}

const servers = new Set<{ close(): Promise<void> }>();
let installed = false;

/**
 * The agent stops a process with SIGTERM and expects it to drain and exit. A service that
 * handles SIGTERM itself decides when to exit; otherwise the runtime closes every managed
 * server (draining their calls) and exits 0.
 */
export function stopOnSigterm(server: { close(): Promise<void> }): void {
  servers.add(server);
  if (installed) return;
  installed = true;
  // First in line, so that the count still includes the service's own `once` listeners.
  process.prependListener("SIGTERM", () => {
    if (process.listenerCount("SIGTERM") > 1) return;
    void Promise.allSettled([...servers].map((s) => s.close())).then(() => process.exit(0));
  });
}
