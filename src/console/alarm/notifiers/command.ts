/**
 * Command receiver: run a program (no shell) with the message as JSON on its stdin,
 * for SMS or phone gateways. It must exit 0 within the time limit; anything else is a
 * failure, reported with the end of its stderr.
 *
 * ```ts
 * await commandNotifier({ argv: ["/usr/local/bin/sms-gateway", "--to", "+8613800000000"] }).send(message);
 * ```
 */
import { spawn } from "node:child_process";
import type { AlarmMessage } from "../../../core/schemas/alarm.js";
import type { Notifier } from "./notifier.js";

export interface CommandOptions {
  /** Default 10 000 ms; then the program is killed. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

const STDERR_KEEP = 500;

export function commandNotifier(
  cfg: { argv: readonly string[] },
  opts: CommandOptions = {},
): Notifier {
  const [program, ...args] = cfg.argv;
  if (!program) throw new Error("a command receiver needs a program to run");
  const timeoutMs = opts.timeoutMs ?? 10_000;
  return {
    send(message: AlarmMessage) {
      return new Promise<void>((resolve, reject) => {
        const child = spawn(program, args, {
          shell: false,
          stdio: ["pipe", "ignore", "pipe"],
          ...(opts.signal ? { signal: opts.signal } : {}),
        });
        let stderr = "";
        let timedOut = false;
        const timer = setTimeout(() => {
          timedOut = true;
          child.kill("SIGKILL");
        }, timeoutMs);
        child.stderr.on("data", (d: Buffer) => {
          stderr = (stderr + d.toString()).slice(-STDERR_KEEP);
        });
        // A program that exits without reading stdin must not crash the console (EPIPE).
        child.stdin.on("error", () => undefined);
        child.once("error", (e) => {
          clearTimeout(timer);
          reject(new Error(`command ${program}: ${e.message}`));
        });
        child.once("close", (code, sig) => {
          clearTimeout(timer);
          if (code === 0) {
            resolve();
            return;
          }
          const how = timedOut
            ? `did not finish within ${timeoutMs} ms`
            : sig
              ? `was killed by ${sig}`
              : `exited with ${code}`;
          const tail = stderr.trim();
          reject(new Error(`command ${program} ${how}${tail ? `: ${tail}` : ""}`));
        });
        child.stdin.end(`${JSON.stringify(message)}\n`);
      });
    },
  };
}
