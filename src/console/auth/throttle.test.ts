import { describe, expect, it } from "vitest";
import {
  checkThrottle,
  clearFailures,
  LOGIN_POLICY,
  recordFailure,
  type ThrottleState,
} from "./throttle.js";

const user = (name: string) => ({ key: `user:${name}`, policy: LOGIN_POLICY.user });
const ip = (addr: string) => ({ key: `ip:${addr}`, policy: LOGIN_POLICY.address });

describe("login throttle", () => {
  it("blocks a user after 5 failures inside a minute", () => {
    const state: ThrottleState = new Map();
    for (let i = 0; i < 4; i++) recordFailure(state, [user("a")], 1000 + i);
    expect(checkThrottle(state, [user("a")], 2000).blocked).toBe(false);
    recordFailure(state, [user("a")], 1004);
    expect(checkThrottle(state, [user("a")], 2000)).toEqual({
      blocked: true,
      retryAfterMs: 1000 + 60_000 - 2000,
    });
  });

  it("unblocks once the failures leave the window", () => {
    const state: ThrottleState = new Map();
    for (let i = 0; i < 5; i++) recordFailure(state, [user("x")], i);
    expect(checkThrottle(state, [user("x")], 59_999).blocked).toBe(true);
    expect(checkThrottle(state, [user("x")], 60_001).blocked).toBe(false);
  });

  it("gives an address more room than a user, and blocks when any key is blocked", () => {
    const state: ThrottleState = new Map();
    for (let i = 0; i < 19; i++) recordFailure(state, [ip("x"), user(`u${i}`)], i);
    expect(checkThrottle(state, [user("new"), ip("x")], 30).blocked).toBe(false);
    recordFailure(state, [ip("x"), user("u19")], 19);
    expect(checkThrottle(state, [user("new"), ip("x")], 30).blocked).toBe(true);
    expect(checkThrottle(state, [user("u0"), ip("y")], 30).blocked).toBe(false);
  });

  it("clears a key after a success and bounds the number of keys", () => {
    const state: ThrottleState = new Map();
    for (let i = 0; i < 5; i++) recordFailure(state, [user("a")], i);
    clearFailures(state, "user:a");
    expect(checkThrottle(state, [user("a")], 10).blocked).toBe(false);
    for (const k of ["k1", "k2", "k3", "k4"]) recordFailure(state, [user(k)], 10, 3);
    expect(state.size).toBe(3);
    expect(state.has("user:k1")).toBe(false);
  });
});
