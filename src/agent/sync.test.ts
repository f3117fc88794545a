import { describe, expect, it } from "vitest";
import { MsecError } from "../core/errors.js";
import { createLogger } from "../core/log.js";
import type { DesiredState, StateReport } from "../core/schemas/machine.js";
import { DesiredSync, Reporter } from "./sync.js";

const log = createLogger({ level: "silent" });
const state = (revision: number): DesiredState => ({ machine: "m1", revision, deployments: [] });
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("desired-state sync", () => {
  it("asks after the known revision, hands on only new revisions, retries errors", async () => {
    const asked: number[] = [];
    const answers: (DesiredState | Error)[] = [
      state(3),
      new MsecError("unavailable", "console down"),
      new MsecError("unavailable", "console down"),
      state(3),
      state(4),
    ];
    const seen: number[] = [];
    const sync = new DesiredSync({
      log,
      after: 2,
      random: () => 1, // jitter at its largest: 0.5 s → 0.35 s
      api: {
        desired: async (after, _wait, signal) => {
          asked.push(after);
          const a = answers.shift();
          if (a instanceof Error) throw a;
          if (a) return a;
          // No more changes: hold the poll like the console does.
          await new Promise((r) => signal?.addEventListener("abort", r));
          throw new MsecError("canceled", "stopped");
        },
      },
      onDesired: (d) => seen.push(d.revision),
    });
    const t0 = Date.now();
    sync.start();
    while (seen.length < 2 && Date.now() - t0 < 5000) await wait(20);
    await sync.stop();
    expect(seen).toEqual([3, 4]);
    expect(asked).toEqual([2, 3, 3, 3, 3, 4]);
    // Two failures: about 0.35 s + 0.7 s of backoff.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
  });
});

describe("state reporter", () => {
  it("reports at start, on changes (debounced) and periodically; resends after a failure", async () => {
    const sent: number[] = [];
    let n = 0;
    let fail = false;
    const reporter = new Reporter({
      log,
      intervalMs: 300,
      debounceMs: 30,
      build: (): StateReport => ({
        appliedRevision: ++n,
        hostname: "h",
        agentVersion: "v",
        services: [],
      }),
      api: {
        report: async (r) => {
          if (fail) throw new MsecError("unavailable", "down");
          sent.push(r.appliedRevision);
        },
      },
    });
    reporter.start();
    await wait(10);
    expect(sent).toEqual([1]);
    reporter.changed();
    reporter.changed();
    reporter.changed();
    await wait(80);
    expect(sent).toEqual([1, 2]);
    fail = true;
    await wait(350);
    fail = false;
    await wait(350);
    reporter.stop();
    expect(sent.length).toBeGreaterThanOrEqual(3);
    await reporter.flush();
    expect(sent.at(-1)).toBe(n);
  });
});
