/**
 * A retry budget (as in Finagle and Envoy): retries may add at most `ratio` of the
 * calls on top, plus a small floor per second so a quiet client can still retry.
 * Stops retry storms when a whole service is down. Plain data, clock passed in.
 */
export interface RetryBudget {
  ratio: number;
  minPerSecond: number;
  /** Retry credit; each call adds `ratio`, each retry spends 1. */
  balance: number;
  /** Floor credit of the current second. */
  floorUsed: number;
  floorSecond: number;
}

export function createRetryBudget(ratio = 0.1, minPerSecond = 10): RetryBudget {
  return { ratio, minPerSecond, balance: 0, floorUsed: 0, floorSecond: 0 };
}

export function depositCall(b: RetryBudget): void {
  // Cap the saved credit so a long quiet period cannot fund a storm later.
  b.balance = Math.min(b.balance + b.ratio, 100);
}

export function tryWithdrawRetry(b: RetryBudget, now: number): boolean {
  // The epsilon absorbs float error: ten deposits of 0.1 make one retry.
  if (b.balance >= 1 - 1e-9) {
    b.balance -= 1;
    return true;
  }
  const second = Math.floor(now / 1000);
  if (second !== b.floorSecond) {
    b.floorSecond = second;
    b.floorUsed = 0;
  }
  if (b.floorUsed < b.minPerSecond) {
    b.floorUsed++;
    return true;
  }
  return false;
}
