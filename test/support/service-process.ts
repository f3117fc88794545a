import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const DEMO = (name: string) =>
  fileURLToPath(new URL(`../../dist/examples/demo/${name}.js`, import.meta.url));

export interface ServiceProcess {
  addr: string;
  port: number;
  proc: ChildProcess;
  output(): string;
  stop(): Promise<number | null>;
  kill(): Promise<void>;
}

/** Start a demo service (`echo` or `login`) as a real process and wait until it listens. */
export async function startDemo(
  name: "echo" | "login",
  env: Record<string, string> = {},
): Promise<ServiceProcess> {
  const proc = spawn(process.execPath, [DEMO(name)], {
    env: { ...process.env, MSEC_PORT: "0", MSEC_LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  proc.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  proc.stderr?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((resolve) =>
    proc.once("exit", (code) => resolve(code)),
  );
  const addr = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start:\n${out}`)), 20_000);
    proc.stdout?.on("data", () => {
      const m = / listening on (\S+)/.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code}:\n${out}`));
    });
  });
  return {
    addr,
    port: Number(addr.slice(addr.lastIndexOf(":") + 1)),
    proc,
    output: () => out,
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
