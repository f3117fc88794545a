/**
 * Login throttling as plain data and pure functions: the caller keeps the state and
 * passes the clock. A key (`user:alice`, `ip:10.0.0.7`) is blocked once it has
 * `limit` failures inside the last `windowMs`.
 */
export interface ThrottlePolicy {
  limit: number;
  windowMs: number;
  /** Forget the oldest keys past this many, so a spray of names cannot exhaust memory. */
  maxKeys: number;
}

export const LOGIN_POLICY: ThrottlePolicy = { limit: 5, windowMs: 60_000, maxKeys: 100_000 };

/** Failure times per key, oldest first. */
export type ThrottleState = Map<string, number[]>;

export type ThrottleVerdict = { blocked: false } | { blocked: true; retryAfterMs: number };

export function checkThrottle(
  state: ThrottleState,
  keys: readonly string[],
  now: number,
  policy: ThrottlePolicy = LOGIN_POLICY,
): ThrottleVerdict {
  let retryAfterMs = 0;
  for (const key of keys) {
    const recent = recentFailures(state, key, now, policy);
    if (recent.length >= policy.limit) {
      const oldest = recent[recent.length - policy.limit] ?? now;
      retryAfterMs = Math.max(retryAfterMs, oldest + policy.windowMs - now);
    }
  }
  return retryAfterMs > 0 ? { blocked: true, retryAfterMs } : { blocked: false };
}

export function recordFailure(
  state: ThrottleState,
  keys: readonly string[],
  now: number,
  policy: ThrottlePolicy = LOGIN_POLICY,
): void {
  for (const key of keys) {
    const recent = recentFailures(state, key, now, policy);
    recent.push(now);
    // Re-insert so Map order is least-recently-failed first.
    state.delete(key);
    state.set(key, recent.slice(-policy.limit));
  }
  while (state.size > policy.maxKeys) {
    const oldest = state.keys().next().value;
    if (oldest === undefined) break;
    state.delete(oldest);
  }
}

export function clearFailures(state: ThrottleState, key: string): void {
  state.delete(key);
}

function recentFailures(
  state: ThrottleState,
  key: string,
  now: number,
  policy: ThrottlePolicy,
): number[] {
  return (state.get(key) ?? []).filter((t) => t > now - policy.windowMs);
}
