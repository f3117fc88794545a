import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import net from "node:net";
import { openLogFds } from "./logs.js";

/**
 * Operating-system edges of process supervision: start times (so a reused pid is
 * never mistaken for our process), liveness, signals to a process group, free ports.
 */

/**
 * The process's start time in clock ticks since boot (field 22 of /proc/<pid>/stat),
 * or "" where /proc is not available; null when the process does not exist.
 */
export function procStartTime(pid: number): string | null {
  // 0 and negative numbers name process groups to kill(): never "a process".
  if (!Number.isInteger(pid) || pid <= 0) return null;
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    // No /proc entry: gone, or a system without /proc (then the pid is all we have).
    return existsPid(pid) ? "" : null;
  }
  // The command name (field 2) is in parentheses and may hold spaces: split after it.
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // After ")": field 3 is the state; a zombie has exited already.
  if (fields[0] === "Z") return null;
  return fields[19] ?? "";
}

function existsPid(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** True when `pid` runs and is the very process that started at `startTime`. */
export function isSameProcess(pid: number, startTime: string): boolean {
  const now = procStartTime(pid);
  if (now === null) return false;
  // Without /proc we cannot tell a reused pid apart; trust the pid.
  return now === "" || startTime === "" || now === startTime;
}

/**
 * Signal the process group (services are started as group leaders, so helpers
 * they start go too), falling back to the process alone.
 */
export function signal(pid: number, sig: NodeJS.Signals): void {
  // kill(0) or kill(-0) would signal our own process group.
  if (!Number.isInteger(pid) || pid <= 0) return;
  try {
    process.kill(-pid, sig);
    return;
  } catch {
    // not a group leader (or gone): try the process itself
  }
  try {
    process.kill(pid, sig);
  } catch {
    // gone already
  }
}

/** A port free on `host` now: `preferred` if it is, else one the kernel picks. */
export async function freePort(host: string, preferred?: number): Promise<number> {
  if (preferred) {
    const p = await tryListen(host, preferred);
    if (p !== undefined) return p;
  }
  const p = await tryListen(host, 0);
  if (p === undefined) throw new Error(`no free port on ${host}`);
  return p;
}

function tryListen(host: string, port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once("error", () => resolve(undefined));
    srv.listen({ port, host, exclusive: true }, () => {
      const got = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(got));
    });
  });
}

export interface SpawnSpec {
  /** Absolute path of the script to run with node. */
  script: string;
  cwd: string;
  env: Record<string, string>;
  logsDir: string;
}

/**
 * Start `node <script>` detached (its own session and process group, so it outlives
 * the agent and a Ctrl-C at the agent's terminal), stdio into the log files.
 */
export function spawnService(spec: SpawnSpec): ChildProcess {
  const fds = openLogFds(spec.logsDir);
  try {
    const child = spawn(process.execPath, [spec.script], {
      cwd: spec.cwd,
      env: spec.env,
      detached: true,
      stdio: ["ignore", fds.out, fds.err],
    });
    // The agent may exit while the service runs on.
    child.unref();
    return child;
  } finally {
    // The child holds its own copies of the descriptors.
    fds.close();
  }
}
