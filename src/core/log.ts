import pino, { type DestinationStream, type Logger } from "pino";

export type { Logger };

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The one logger factory: JSON lines (pino), to stderr unless a destination is given. */
export function createLogger(
  opts: { level?: LogLevel; name?: string; destination?: DestinationStream } = {},
): Logger {
  return pino(
    { level: opts.level ?? "info", name: opts.name ?? "msec", base: { pid: process.pid } },
    opts.destination ?? pino.destination({ fd: 2, sync: false }),
  );
}
