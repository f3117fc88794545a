import { MsecError } from "../../core/errors.js";
import { DEFAULT_PROTECTION, type ProtectionPolicy } from "./registry.js";

export interface NamingOptions {
  protection: ProtectionPolicy;
  /** How often expired instances are looked for. */
  sweepIntervalMs: number;
  /** How often heartbeat state (lastSeen, health) is written to the store. */
  flushIntervalMs: number;
  /** Changes of one service within this window reach watchers as one event. */
  coalesceMs: number;
  /** Interval of keep-alive comments on watch streams. */
  pingMs: number;
}

export const DEFAULT_NAMING_OPTIONS: NamingOptions = {
  protection: DEFAULT_PROTECTION,
  sweepIntervalMs: 1000,
  flushIntervalMs: 2000,
  coalesceMs: 50,
  pingMs: 15_000,
};

/**
 * Options from the environment: `MSEC_NAMING_PROTECTION_WINDOW_MS` and
 * `MSEC_NAMING_PROTECTION_THRESHOLD` (0..1). Meant for tests and drills.
 */
export function namingOptionsFromEnv(env: NodeJS.ProcessEnv): Partial<NamingOptions> {
  const window = env.MSEC_NAMING_PROTECTION_WINDOW_MS;
  const threshold = env.MSEC_NAMING_PROTECTION_THRESHOLD;
  if (!window && !threshold) return {};
  const protection = { ...DEFAULT_PROTECTION };
  if (window) {
    const n = Number(window);
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new MsecError(
        "invalid_argument",
        `MSEC_NAMING_PROTECTION_WINDOW_MS: "${window}" is not a number of milliseconds`,
        { field: "MSEC_NAMING_PROTECTION_WINDOW_MS" },
      );
    }
    protection.windowMs = n;
  }
  if (threshold) {
    const n = Number(threshold);
    if (!Number.isFinite(n) || n < 0 || n > 1) {
      throw new MsecError(
        "invalid_argument",
        `MSEC_NAMING_PROTECTION_THRESHOLD: "${threshold}" is not a fraction between 0 and 1`,
        { field: "MSEC_NAMING_PROTECTION_THRESHOLD" },
      );
    }
    protection.threshold = n;
  }
  return { protection };
}
