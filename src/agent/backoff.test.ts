import { describe, expect, it } from "vitest";
import { Backoff, backoffDelay, CONSOLE_RETRY, CRASH_RESTART } from "./backoff.js";

describe("backoff", () => {
  it("doubles from the minimum up to the maximum", () => {
    const delays = [1, 2, 3, 4, 5, 6, 7, 8].map((n) => backoffDelay(CRASH_RESTART, n));
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000]);
    expect(backoffDelay(CRASH_RESTART, 10_000)).toBe(60_000);
  });

  it("jitter shortens a delay by at most its share", () => {
    expect(backoffDelay(CONSOLE_RETRY, 1, () => 0)).toBe(500);
    expect(backoffDelay(CONSOLE_RETRY, 1, () => 0.999999)).toBe(350);
    expect(backoffDelay(CONSOLE_RETRY, 20, () => 0)).toBe(30_000);
    expect(backoffDelay(CONSOLE_RETRY, 20, () => 1)).toBe(21_000);
  });

  it("counts failures and starts over after a reset", () => {
    const b = new Backoff({ minMs: 10, maxMs: 100 });
    expect([b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([10, 20, 40, 80, 100]);
    expect(b.failures).toBe(5);
    b.reset();
    expect(b.failures).toBe(0);
    expect(b.next()).toBe(10);
  });
});
