import { describe, expect, it } from "vitest";
import { MINUTE_MS } from "../../core/schemas/monitor.js";
import { type AlarmState, acknowledge, type Step, step, worst } from "./lifecycle.js";
import type { Measurement } from "./rules.js";

const T0 = Date.UTC(2026, 0, 15, 10, 0);
const at = (i: number) => T0 + i * MINUTE_MS;

const B: Measurement["outcome"] = "breach";
const O: Measurement["outcome"] = "ok";
const N: Measurement["outcome"] = "nodata";

function meas(outcome: Measurement["outcome"], i: number): Measurement {
  return outcome === "nodata"
    ? { outcome, minute: at(i), value: null, message: "no point" }
    : { outcome, minute: at(i), value: outcome === B ? 99 : 1, message: outcome };
}

/**
 * Run a sequence of minutes through the step function like the evaluator does:
 * window = the last m measurements, `at` = minute i.
 */
function run(
  outcomes: readonly Measurement["outcome"][],
  opts: {
    n?: number;
    m?: number;
    repeat?: number;
    silenced?: (i: number) => boolean;
    ackAt?: number;
  } = {},
): { steps: Step[]; states: AlarmState[] } {
  const flap = { n: opts.n ?? 1, m: opts.m ?? 1 };
  let state: AlarmState = { state: "ok" };
  const all: Measurement[] = [];
  const steps: Step[] = [];
  const states: AlarmState[] = [];
  outcomes.forEach((o, i) => {
    if (opts.ackAt === i) state = acknowledge(state, "olga", at(i));
    all.push(meas(o, i));
    const s = step({
      rule: { flap, repeatMinutes: opts.repeat ?? 0 },
      previous: state,
      at: at(i),
      window: all.slice(-flap.m),
      silenced: opts.silenced?.(i) ?? false,
    });
    steps.push(s);
    states.push(s.next);
    state = s.next;
  });
  return { steps, states };
}

const notices = (steps: Step[]) => steps.map((s) => s.notice);

describe("alarm lifecycle", () => {
  it("fires on a breach and resolves on the first ok minute, telling both", () => {
    const { steps, states } = run([O, B, B, O, O]);
    expect(states.map((s) => s.state)).toEqual(["ok", "firing", "firing", "resolved", "resolved"]);
    expect(steps.map((s) => s.transition)).toEqual([null, "firing", null, "resolved", null]);
    expect(notices(steps)).toEqual([null, "firing", null, "resolved", null]);
    expect(states[1]).toMatchObject({ firedAt: at(1), lastSentAt: at(1), ackedBy: null });
    expect(states[3]).toEqual({ state: "resolved", firedAt: at(1), resolvedAt: at(3) });
  });

  it("neither fires nor resolves on a minute with no point", () => {
    expect(run([N, N]).states.map((s) => s.state)).toEqual(["ok", "ok"]);
    expect(run([B, N, N, O]).states.map((s) => s.state)).toEqual([
      "firing",
      "firing",
      "firing",
      "resolved",
    ]);
  });

  it("fires again as a new alarm after resolving", () => {
    const { steps } = run([B, O, B]);
    expect(steps.map((s) => s.transition)).toEqual(["firing", "resolved", "firing"]);
    expect(steps[2]?.next).toMatchObject({ state: "firing", firedAt: at(2) });
  });

  it("repeats every repeatMinutes while firing", () => {
    const { steps } = run([B, B, B, B, B, B, B], { repeat: 3 });
    expect(notices(steps)).toEqual(["firing", null, null, "repeat", null, null, "repeat"]);
  });

  it("never repeats with repeatMinutes 0", () => {
    expect(notices(run([B, B, B, B, B]).steps)).toEqual(["firing", null, null, null, null]);
  });

  it("stops repeating once acknowledged, and still tells the resolve", () => {
    const { steps, states } = run([B, B, B, B, B, O], { repeat: 1, ackAt: 2 });
    expect(notices(steps)).toEqual(["firing", "repeat", null, null, null, "resolved"]);
    expect(states[3]).toMatchObject({ state: "firing", ackedBy: "olga", ackedAt: at(2) });
  });

  it("changes state under a silence but sends nothing, and notes what it held back", () => {
    const { steps, states } = run([B, B, O], { repeat: 1, silenced: () => true });
    expect(states.map((s) => s.state)).toEqual(["firing", "firing", "resolved"]);
    expect(notices(steps)).toEqual([null, null, null]);
    // Nobody heard it fire, so there is no resolve to hold back either.
    expect(steps.map((s) => s.suppressed)).toEqual(["firing", null, null]);
  });

  it("sends the firing notice when a silence ends while it still fires", () => {
    const { steps } = run([B, B, B, B], { repeat: 30, silenced: (i) => i < 2 });
    expect(notices(steps)).toEqual([null, null, "firing", null]);
  });

  it("holds back the resolve of an alarm people heard about when silenced at the end", () => {
    const { steps } = run([B, B, O], { silenced: (i) => i === 2 });
    expect(notices(steps)).toEqual(["firing", null, null]);
    expect(steps[2]?.suppressed).toBe("resolved");
  });

  describe("flap suppression (3 of 5)", () => {
    const flap = { n: 3, m: 5 };

    it("does not fire on scattered breaches", () => {
      const { states } = run([B, O, O, B, O, O, O, B, O, O], flap);
      expect(states.some((s) => s.state === "firing")).toBe(false);
      expect(states.map((s) => s.state)).toEqual([
        "pending",
        "pending",
        "pending",
        "pending",
        "pending",
        "pending",
        "pending",
        "pending",
        "pending",
        "pending",
      ]);
    });

    it("goes back to ok when the window holds no breach", () => {
      const { steps } = run([B, O, O, O, O, O], flap);
      expect(steps.map((s) => s.transition)).toEqual([
        "pending",
        null,
        null,
        null,
        null,
        "cleared",
      ]);
    });

    it("fires on the minute the third breach lands in the window", () => {
      const { steps, states } = run([B, O, B, O, B, B], flap);
      expect(states.map((s) => s.state)).toEqual([
        "pending",
        "pending",
        "pending",
        "pending",
        "firing",
        "firing",
      ]);
      expect(steps[4]).toMatchObject({ transition: "firing", notice: "firing" });
      expect(states[4]).toMatchObject({ activeAt: at(0), firedAt: at(4) });
    });

    it("needs the evaluated minute itself to break", () => {
      const { states } = run([B, B, B, O], { n: 3, m: 5 });
      expect(states.map((s) => s.state)).toEqual(["pending", "pending", "firing", "resolved"]);
    });
  });

  it("is safe to run twice: the same input gives the same step", () => {
    const input = {
      rule: { flap: { n: 1, m: 1 }, repeatMinutes: 5 },
      previous: { state: "ok" } as AlarmState,
      at: at(0),
      window: [meas(B, 0)],
      silenced: false,
    };
    expect(step(input)).toEqual(step(input));
  });

  it("orders states ok < pending < firing", () => {
    expect(worst("ok", "pending")).toBe("pending");
    expect(worst("firing", "pending")).toBe("firing");
    expect(worst("resolved", "ok")).toBe("resolved");
  });

  it("acknowledges only a firing, un-acknowledged alarm", () => {
    expect(acknowledge({ state: "ok" }, "a", 1)).toEqual({ state: "ok" });
    const firing: AlarmState = {
      state: "firing",
      activeAt: 0,
      firedAt: 0,
      lastSentAt: 0,
      ackedBy: "x",
      ackedAt: 5,
    };
    expect(acknowledge(firing, "y", 9)).toBe(firing);
  });
});
