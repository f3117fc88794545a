import { describe, expect, it } from "vitest";
import type { MachineView } from "../../core/schemas/machine.js";
import { describeMachine, labelPair, ttlArg, versionsText } from "./machine.js";

const SHA = "c".repeat(64);

describe("machine command helpers", () => {
  it("reads TTLs as seconds or durations", () => {
    expect(ttlArg("3600")).toBe(3600);
    expect(ttlArg("90s")).toBe(90);
    expect(ttlArg("30m")).toBe(1800);
    expect(ttlArg("12h")).toBe(43_200);
    expect(ttlArg("1d")).toBe(86_400);
    for (const bad of ["", "0", "1w", "-5", "1.5h", "d"]) {
      expect(() => ttlArg(bad)).toThrow(/seconds \(3600\) or a duration/);
    }
  });

  it("reads labels as name=value, and name= as a removal where allowed", () => {
    expect(labelPair("zone=sz", false)).toEqual(["zone", "sz"]);
    expect(labelPair("url=a=b", false)).toEqual(["url", "a=b"]);
    expect(labelPair("zone=", true)).toEqual(["zone", null]);
    expect(labelPair("zone=", false)).toMatch(/needs a value/);
    expect(labelPair("zone", true)).toMatch(/not a label/);
    expect(labelPair("=sz", true)).toMatch(/not a label/);
  });

  it("shows desired and running versions per service", () => {
    const m: MachineView = {
      name: "web-1",
      hostname: "web-1.lan",
      labels: { zone: "sz" },
      agentVersion: "1.0.0",
      enrolledAt: "2026-01-01T00:00:00.000Z",
      lastSeenAt: "2026-01-01T00:01:00.000Z",
      online: true,
      desiredRevision: 3,
      appliedRevision: 2,
      deployments: [
        {
          service: "Demo.Echo",
          package: { version: 7, sha256: SHA, signature: "s", name: null },
          configs: [{ version: 3, sha256: SHA, signature: "s", name: "app.json" }],
          libs: [],
          plugins: [],
          weight: 100,
        },
      ],
      services: [
        {
          service: "Demo.Echo",
          running: {
            versions: { package: 6, configs: [3], libs: [], plugins: [] },
            state: "healthy",
            pid: 42,
            addr: "10.0.0.7:9000",
            restarts: 1,
            since: "2026-01-01T00:00:30.000Z",
          },
          target: {
            versions: { package: 7, configs: [3], libs: [], plugins: [] },
            phase: "failed",
            error: "health check timed out",
          },
        },
        { service: "Demo.Gone", running: null, target: null },
      ],
    };
    const text = describeMachine(m).join("\n");
    expect(text).toContain("labels:    zone=sz");
    expect(text).toContain("(online)");
    expect(text).toContain("desired 3, applied 2 (changes pending)");
    expect(text).toContain("Demo.Echo\n  desired: 7 c3, weight 100");
    expect(text).toContain("  running: 6 c3, healthy, pid 42, 10.0.0.7:9000, 1 restarts");
    expect(text).toContain("  target:  7 c3, failed: health check timed out");
    expect(text).toContain("Demo.Gone\n  desired: (removed)\n  running: -");
    expect(versionsText({ package: 1, configs: [], libs: [2], plugins: [3, 4] })).toBe("1 l2 p3,4");
  });
});
