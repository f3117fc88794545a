import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { startWatched, type WatchedProcess } from "./process.js";

export const CLI = fileURLToPath(new URL("../../dist/bin/msec.js", import.meta.url));

export interface ConsoleProcess extends WatchedProcess {
  url: string;
}

/**
 * Start a real `msec` server process (`console` or `up`) on a free port and wait until it
 * prints its URL.
 */
export async function startConsoleProcess(opts: {
  db: string;
  command?: "console" | "up";
  env?: Record<string, string>;
  cwd?: string;
  args?: string[];
  /** Default 0 (a free port); pass the old port to restart a console where clients expect it. */
  port?: number;
}): Promise<ConsoleProcess> {
  const p = await startWatched(
    "console",
    [
      CLI,
      opts.command ?? "console",
      "--port",
      String(opts.port ?? 0),
      "--db",
      opts.db,
      "--log-level",
      "warn",
      ...(opts.args ?? []),
    ],
    {
      ready: /^console: (http:\/\/\S+)$/m,
      ...(opts.env ? { env: opts.env } : {}),
      ...(opts.cwd ? { cwd: opts.cwd } : {}),
    },
  );
  return { ...p, url: p.ready[1] as string };
}

/**
 * Run the `msec` CLI to completion. `timeoutMs`: SIGKILL it after this long (the result
 * then has code null and says so on stderr), so a command that hangs cannot outlive a test.
 */
export function runCli(
  args: string[],
  opts: { env?: Record<string, string>; input?: string; timeoutMs?: number } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, ...opts.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    proc.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    proc.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    proc.stdin.end(opts.input ?? "");
    const timer =
      opts.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            stderr += `\n(runCli: killed after ${opts.timeoutMs} ms)`;
            proc.kill("SIGKILL");
          }, opts.timeoutMs);
    proc.once("exit", (code) => {
      if (timer) clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
