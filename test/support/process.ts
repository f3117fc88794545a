import { type ChildProcess, spawn } from "node:child_process";

/** A real child process whose output is kept, started and waited for until it says it is ready. */
export interface WatchedProcess {
  proc: ChildProcess;
  /** The match of the readiness pattern (its groups carry the URL or address). */
  ready: RegExpExecArray;
  stdout(): string;
  stderr(): string;
  /** Wait until stdout matches (lines printed after the ready line may come a moment later). */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** SIGTERM, and wait for the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL: no chance to clean up. */
  kill(): Promise<void>;
}

export async function startWatched(
  name: string,
  argv: string[],
  opts: { ready: RegExp; env?: Record<string, string>; cwd?: string; timeoutMs?: number },
): Promise<WatchedProcess> {
  const proc = spawn(process.execPath, argv, {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
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
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const ready = await new Promise<RegExpExecArray>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${name} did not start in ${timeoutMs / 1000} s:\n${out}\n${err}`)),
      timeoutMs,
    );
    proc.stdout?.on("data", () => {
      const m = opts.ready.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code} before starting:\n${out}\n${err}`));
    });
  });
  return {
    proc,
    ready,
    stdout: () => out,
    stderr: () => err,
    waitForOutput: async (pattern, waitMs = 10_000) => {
      const deadline = Date.now() + waitMs;
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
