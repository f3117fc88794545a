/**
 * Login throttling as plain data and pure functions: the caller keeps the state and
 * passes the clock. A key (`user:alice`, `ip:10.0.0.7`) is blocked once it has
 * `limit` failures inside the last `windowMs`.
 */
export interface ThrottlePolicy {
  limit: number;
  windowMs: number;
}

/**
 * Five failures a minute for one user name stops password guessing against it; an
 * address gets more, since one office behind NAT may hold many users who mistype,
 * and still stops a spray of guesses across many names.
 */
export const LOGIN_POLICY = {
  user: { limit: 5, windowMs: 60_000 },
  address: { limit: 20, windowMs: 60_000 },
} as const satisfies Record<string, ThrottlePolicy>;

/** Forget the oldest keys past this many, so a spray of names cannot exhaust memory. */
export const MAX_THROTTLE_KEYS = 100_000;

/** Failure times per key, oldest first. */
export type ThrottleState = Map<string, number[]>;

export interface ThrottleKey {
  key: string;
  policy: ThrottlePolicy;
}

export type ThrottleVerdict = { blocked: false } | { blocked: true; retryAfterMs: number };

export function checkThrottle(
  state: ThrottleState,
  keys: readonly ThrottleKey[],
  now: number,
): ThrottleVerdict {
  let retryAfterMs = 0;
  for (const { key, policy } of keys) {
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
  keys: readonly ThrottleKey[],
  now: number,
  maxKeys = MAX_THROTTLE_KEYS,
): void {
  for (const { key, policy } of keys) {
    const recent = recentFailures(state, key, now, policy);
    recent.push(now);
    // Re-insert so Map order is least-recently-failed first.
    state.delete(key);
    state.set(key, recent.slice(-policy.limit));
  }
  while (state.size > maxKeys) {
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
