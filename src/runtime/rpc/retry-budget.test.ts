import { describe, expect, it } from "vitest";
import { createRetryBudget, depositCall, tryWithdrawRetry } from "./retry-budget.js";

describe("retry budget", () => {
  it("allows the per-second floor even with no calls", () => {
    const b = createRetryBudget(0.1, 3);
    expect([1, 2, 3, 4].map(() => tryWithdrawRetry(b, 5000))).toEqual([true, true, true, false]);
    expect(tryWithdrawRetry(b, 6000)).toBe(true);
  });

  it("funds about `ratio` retries per call beyond the floor", () => {
    const b = createRetryBudget(0.1, 0);
    for (let i = 0; i < 100; i++) depositCall(b);
    let allowed = 0;
    while (tryWithdrawRetry(b, 0)) allowed++;
    expect(allowed).toBe(10);
  });
});
