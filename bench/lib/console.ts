/**
 * A real console process for a benchmark: started from dist/ on a fresh SQLite store
 * (optionally pinned to core 0), with an admin API token, its CPU time, and a hard
 * stop so a stuck run never outlives the benchmark.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { cpus } from "node:os";
import { join } from "node:path";
import { cpuSeconds } from "../rpc/lib/common.js";

const PASSWORD = "bench-password-1";
const CLK_TCK = 100;

export interface BenchConsole {
  url: string;
  /** An admin API token. */
  token: string;
  proc: ChildProcess;
  /** User + system CPU seconds of the console process so far. */
  cpuSeconds(): number;
  /** SIGTERM, then wait for the exit. */
  stop(): Promise<void>;
}

export async function startBenchConsole(opts: {
  /** Where the store goes (`<dir>/m.db`). */
  dir: string;
  /** Pin the console to core 0 (when there is more than one). */
  pin?: boolean;
  env?: Record<string, string>;
  /** Killed after this long, whatever happens. */
  maxLifetimeS: number;
}): Promise<BenchConsole> {
  const pin = opts.pin && cpus().length > 1 ? ["taskset", "-c", "0"] : [];
  const [cmd, ...args] = [
    ...pin,
    process.execPath,
    "dist/bin/msec.js",
    "console",
    "--port",
    "0",
    "--db",
    `sqlite:${join(opts.dir, "m.db")}`,
    "--log-level",
    "warn",
  ];
  const proc = spawn(cmd as string, args, {
    env: { ...process.env, ...opts.env, MSEC_ADMIN_PASSWORD: PASSWORD },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise<void>((r) => proc.once("exit", () => r()));
  const killer = setTimeout(() => proc.kill("SIGKILL"), opts.maxLifetimeS * 1000);
  killer.unref();
  const stop = async () => {
    clearTimeout(killer);
    proc.kill("SIGTERM");
    await exited;
  };
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = "";
      proc.stdout?.on("data", (d: Buffer) => {
        out += d.toString();
        const m = /^console: (\S+)$/m.exec(out);
        if (m?.[1]) resolve(m[1]);
      });
      proc.once("exit", (code) => reject(new Error(`console exited with ${code}`)));
    });
    const login = await fetch(`${url}/api/v1/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "admin", password: PASSWORD }),
    });
    const cookie = login.headers.get("set-cookie")?.split(";")[0] ?? "";
    const { csrfToken } = (await login.json()) as { csrfToken: string };
    const minted = await fetch(`${url}/api/v1/tokens`, {
      method: "POST",
      headers: { "content-type": "application/json", cookie, "x-csrf-token": csrfToken },
      body: JSON.stringify({ name: "bench" }),
    });
    const { token } = (await minted.json()) as { token: string };
    return {
      url,
      token,
      proc,
      cpuSeconds: () => cpuSeconds(proc.pid ?? -1, CLK_TCK) ?? 0,
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
