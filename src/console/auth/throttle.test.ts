import { describe, expect, it } from "vitest";
import { checkThrottle, clearFailures, recordFailure, type ThrottleState } from "./throttle.js";

const policy = { limit: 5, windowMs: 60_000, maxKeys: 3 };

describe("login throttle", () => {
  it("blocks a key after `limit` failures inside the window", () => {
    const state: ThrottleState = new Map();
    for (let i = 0; i < 4; i++) recordFailure(state, ["user:a"], 1000 + i, policy);
    expect(checkThrottle(state, ["user:a"], 2000, policy).blocked).toBe(false);
    recordFailure(state, ["user:a"], 1004, policy);
    const v = checkThrottle(state, ["user:a"], 2000, policy);
    expect(v).toEqual({ blocked: true, retryAfterMs: 1000 + 60_000 - 2000 });
  });

  it("unblocks once the failures leave the window", () => {
    const state: ThrottleState = new Map();
    for (let i = 0; i < 5; i++) recordFailure(state, ["ip:x"], i, policy);
    expect(checkThrottle(state, ["ip:x"], 59_999, policy).blocked).toBe(true);
    expect(checkThrottle(state, ["ip:x"], 60_001, policy).blocked).toBe(false);
  });

  it("blocks when any one of the keys is blocked", () => {
    const state: ThrottleState = new Map();
    for (let i = 0; i < 5; i++) recordFailure(state, ["ip:x", `user:u${i}`], i, policy);
    expect(checkThrottle(state, ["user:u9", "ip:x"], 10, policy).blocked).toBe(true);
    expect(checkThrottle(state, ["user:u0", "ip:y"], 10, policy).blocked).toBe(false);
  });

  it("clears a key after a success and bounds the number of keys", () => {
    const state: ThrottleState = new Map();
    for (let i = 0; i < 5; i++) recordFailure(state, ["user:a"], i, policy);
    clearFailures(state, "user:a");
    expect(checkThrottle(state, ["user:a"], 10, policy).blocked).toBe(false);
    for (const k of ["k1", "k2", "k3", "k4"]) recordFailure(state, [k], 10, policy);
    expect(state.size).toBe(3);
    expect(state.has("k1")).toBe(false);
  });
});
