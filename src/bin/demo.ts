import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** One demo service run by `msec up` as a child process. */
interface DemoService {
  name: "echo" | "login";
  service: string;
  port: number;
}

export interface RunningDemo {
  /** `Demo.Echo at 127.0.0.1:7801`, once each has said where it listens. */
  lines: string[];
  stop(): Promise<void>;
}

/**
 * Start the demo services (Demo.Echo, and Demo.Login which calls it) registered with
 * the console. Each gets its port (portBase, portBase+1; 0 for free ports), logs to
 * `<dataDir>/logs/demo-<name>.log`, and its instance cache under `<dataDir>/cache`.
 */
export async function startDemo(opts: {
  consoleUrl: string;
  token: string;
  dataDir: string;
  portBase: number;
}): Promise<RunningDemo> {
  const services: DemoService[] = [
    { name: "echo", service: "Demo.Echo", port: opts.portBase === 0 ? 0 : opts.portBase },
    { name: "login", service: "Demo.Login", port: opts.portBase === 0 ? 0 : opts.portBase + 1 },
  ];
  const logDir = join(opts.dataDir, "logs");
  await mkdir(logDir, { recursive: true });
  const children: { proc: ChildProcess; exited: Promise<void> }[] = [];
  const lines: string[] = [];
  const stopAll = async () => {
    for (const c of children) c.proc.kill("SIGTERM");
    await Promise.all(children.map((c) => c.exited));
  };
  try {
    for (const s of services) {
      const script = fileURLToPath(new URL(`../examples/demo/${s.name}.js`, import.meta.url));
      const proc = spawn(process.execPath, [script], {
        env: {
          ...process.env,
          MSEC_CONSOLE: opts.consoleUrl,
          MSEC_TOKEN: opts.token,
          MSEC_PORT: String(s.port),
          MSEC_CACHE_DIR: resolve(opts.dataDir, "cache"),
          // Fresh curves while trying things out; production agents send once a minute.
          MSEC_METRICS_INTERVAL_MS: process.env.MSEC_METRICS_INTERVAL_MS ?? "10000",
          MSEC_LOG_LEVEL: process.env.MSEC_LOG_LEVEL ?? "info",
        },
        stdio: ["ignore", "pipe", "pipe"],
      });
      const log = createWriteStream(join(logDir, `demo-${s.name}.log`), { flags: "a" });
      proc.stderr?.pipe(log);
      const exited = new Promise<void>((done) => proc.once("exit", () => done()));
      children.push({ proc, exited });
      const addr = await new Promise<string>((resolveAddr, reject) => {
        let out = "";
        const timer = setTimeout(
          () => reject(new Error(`${s.service} did not start; see ${logDir}`)),
          15_000,
        );
        proc.stdout?.on("data", (d: Buffer) => {
          out += d.toString();
          log.write(d);
          const m = / listening on (\S+)/.exec(out);
          if (m?.[1]) {
            clearTimeout(timer);
            resolveAddr(m[1]);
          }
        });
        void exited.then(() => {
          clearTimeout(timer);
          reject(
            new Error(`${s.service} exited at start; see ${join(logDir, `demo-${s.name}.log`)}`),
          );
        });
      });
      lines.push(`${s.service} at ${addr}`);
    }
  } catch (e) {
    // Do not leave half the demo running.
    await stopAll();
    throw e;
  }
  return {
    lines,
    stop: stopAll,
  };
}
