/**
 * Exponential backoff: `minMs`, doubling per failure up to `maxMs`. With `jitter`
 * (0..1), each delay is drawn from [d·(1−jitter), d] so that many agents retrying
 * after the same outage do not all come back in the same instant.
 */
export interface BackoffPolicy {
  minMs: number;
  maxMs: number;
  jitter?: number;
}

/** The delay before retry number `attempt` (1 = after the first failure). */
export function backoffDelay(
  policy: BackoffPolicy,
  attempt: number,
  random: () => number = Math.random,
): number {
  const n = Math.max(1, Math.floor(attempt));
  // 2 ** 30 is far past any sane max; capping the exponent keeps the number finite.
  const base = Math.min(policy.maxMs, policy.minMs * 2 ** Math.min(n - 1, 30));
  const jitter = Math.min(1, Math.max(0, policy.jitter ?? 0));
  return Math.round(base * (1 - jitter * random()));
}

/** A failure counter over a policy. */
export class Backoff {
  private attempts = 0;

  constructor(
    private readonly policy: BackoffPolicy,
    private readonly random: () => number = Math.random,
  ) {}

  get failures(): number {
    return this.attempts;
  }

  /** Count one more failure and return how long to wait before trying again. */
  next(): number {
    this.attempts++;
    return backoffDelay(this.policy, this.attempts, this.random);
  }

  reset(): void {
    this.attempts = 0;
  }
}

/** Retrying the console: 0.5 s → 30 s, with jitter. */
export const CONSOLE_RETRY: BackoffPolicy = { minMs: 500, maxMs: 30_000, jitter: 0.3 };
/** Restarting a crashed process: 1 s → 60 s. */
export const CRASH_RESTART: BackoffPolicy = { minMs: 1000, maxMs: 60_000 };
/** A process healthy this long has its crash count forgotten. */
export const CRASH_RESET_MS = 60_000;
