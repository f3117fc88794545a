import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

export const CLI = fileURLToPath(new URL("../../dist/bin/msec.js", import.meta.url));

export interface ConsoleProcess {
  url: string;
  proc: ChildProcess;
  /** Everything the process printed on stdout so far. */
  stdout(): string;
  stderr(): string;
  /** Wait until stdout matches (lines printed just after the URL may come a moment later). */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** SIGTERM, and wait for the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL: no chance to clean up. */
  kill(): Promise<void>;
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
  const proc = spawn(
    process.execPath,
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
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let out = "";
  let err = "";
  proc.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  proc.stderr?.on("data", (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<number | null>((resolve) =>
    proc.once("exit", (code) => resolve(code)),
  );

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`console did not start in 30 s:\n${out}\n${err}`)),
      30_000,
    );
    const check = () => {
      const m = /^console: (http:\/\/\S+)$/m.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    proc.stdout?.on("data", check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`console exited with ${code} before starting:\n${out}\n${err}`));
    });
  });

  return {
    url,
    proc,
    stdout: () => out,
    stderr: () => err,
    waitForOutput: async (pattern, timeoutMs = 10_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const m = pattern.exec(out);
        if (m) return m;
        if (Date.now() > deadline) throw new Error(`no ${pattern} in output:\n${out}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    stop: async () => {
      proc.kill("SIGTERM");
      return exited;
    },
    kill: async () => {
      proc.kill("SIGKILL");
      await exited;
    },
  };
}

/** Run the `msec` CLI to completion. */
export function runCli(
  args: string[],
  opts: { env?: Record<string, string>; input?: string } = {},
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
    proc.once("exit", (code) => resolve({ code, stdout, stderr }));
  });
}
