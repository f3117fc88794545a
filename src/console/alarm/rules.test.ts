import { describe, expect, it } from "vitest";
import { MINUTE_MS } from "../../core/schemas/monitor.js";
import { DAY_MS, measure, needs, type RuleCondition } from "./rules.js";

const M = Date.UTC(2026, 0, 15, 10, 30);
const min = (i: number) => M + i * MINUTE_MS;

function series(entries: [number, number][]): Map<number, number> {
  return new Map(entries);
}

const fluct = (
  against: "yesterday" | "mean",
  minBase = 100,
  percent = 50,
  meanMinutes = 10,
): RuleCondition => ({
  attr: "logins",
  kind: "fluctuation",
  fluctuation: { percent, against, meanMinutes, minBase },
});

describe("max and min", () => {
  const max: RuleCondition = { attr: "errors", kind: "max", threshold: 10 };
  const minRule: RuleCondition = { attr: "qps", kind: "min", threshold: 100 };

  it("breaches strictly above max and strictly below min", () => {
    expect(measure(max, M, series([[M, 11]]))).toMatchObject({
      outcome: "breach",
      value: 11,
      message: "errors = 11 > max 10",
    });
    expect(measure(max, M, series([[M, 10]]))).toMatchObject({
      outcome: "ok",
      message: "errors = 10 ≤ max 10",
    });
    expect(measure(minRule, M, series([[M, 99.5]]))).toMatchObject({
      outcome: "breach",
      value: 99.5,
    });
    expect(measure(minRule, M, series([[M, 100]]))).toMatchObject({ outcome: "ok" });
  });

  it("has nothing to say about a minute with no point", () => {
    expect(measure(max, M, series([[min(-1), 500]]))).toMatchObject({
      outcome: "nodata",
      value: null,
    });
    expect(measure(minRule, M, new Map())).toMatchObject({ outcome: "nodata" });
  });

  it("reads only the evaluated minute", () => {
    expect(needs(max)).toEqual({ before: 0, yesterday: false });
  });
});

describe("fluctuation against yesterday", () => {
  const c = fluct("yesterday");

  it("fires on a 60% drop against the same minute yesterday", () => {
    const m = measure(
      c,
      M,
      series([
        [M - DAY_MS, 1000],
        [M, 400],
      ]),
    );
    expect(m).toMatchObject({ outcome: "breach", value: 400 });
    expect(m.message).toBe(
      "logins fell 60% against the same minute yesterday (400 vs 1000; fires at ±50%)",
    );
  });

  it("fires on a rise as well, at exactly the percent", () => {
    expect(
      measure(
        c,
        M,
        series([
          [M - DAY_MS, 1000],
          [M, 1500],
        ]),
      ),
    ).toMatchObject({ outcome: "breach" });
    expect(
      measure(
        c,
        M,
        series([
          [M - DAY_MS, 1000],
          [M, 1499],
        ]),
      ),
    ).toMatchObject({ outcome: "ok" });
  });

  it("stays quiet on small numbers below the minimum base", () => {
    const m = measure(
      c,
      M,
      series([
        [M - DAY_MS, 10],
        [M, 3],
      ]),
    );
    expect(m.outcome).toBe("ok");
    expect(m.message).toMatch(/base 10 .* below the minimum base 100/);
  });

  it("stays quiet on a zero base, whatever minBase says", () => {
    expect(
      measure(
        fluct("yesterday", 0),
        M,
        series([
          [M - DAY_MS, 0],
          [M, 5],
        ]),
      ).outcome,
    ).toBe("ok");
  });

  it("is inconclusive without yesterday's point or today's", () => {
    expect(measure(c, M, series([[M, 400]])).outcome).toBe("nodata");
    expect(measure(c, M, series([[M - DAY_MS, 1000]])).outcome).toBe("nodata");
  });

  it("reads yesterday", () => {
    expect(needs(c)).toEqual({ before: 0, yesterday: true });
  });
});

describe("fluctuation against the mean", () => {
  const c = fluct("mean", 100, 50, 4);

  it("compares with the mean of the previous N minutes that have a point", () => {
    // previous 4 minutes: 1000, (none), 900, 1100 → mean 1000
    const s = series([
      [min(-4), 1000],
      [min(-2), 900],
      [min(-1), 1100],
      [min(-5), 1], // outside the window
      [M, 450],
    ]);
    const m = measure(c, M, s);
    expect(m).toMatchObject({ outcome: "breach", value: 450 });
    expect(m.message).toContain(
      "fell 55% against the mean of the previous 4 minute(s) (450 vs 1000",
    );
  });

  it("is inconclusive with no point in the window, quiet under minBase", () => {
    expect(measure(c, M, series([[M, 1]])).outcome).toBe("nodata");
    expect(
      measure(
        c,
        M,
        series([
          [min(-1), 20],
          [M, 1],
        ]),
      ).outcome,
    ).toBe("ok");
  });

  it("reads N minutes back", () => {
    expect(needs(c)).toEqual({ before: 4, yesterday: false });
  });
});

describe("no data", () => {
  const c: RuleCondition = { attr: "logins", kind: "nodata", nodataMinutes: 3 };

  it("breaches when none of the last N minutes has a point", () => {
    const m = measure(c, M, series([[min(-3), 5]]));
    expect(m).toMatchObject({ outcome: "breach", value: null });
    expect(m.message).toBe("no point for logins for 3 minute(s) (10:28–10:30 UTC)");
  });

  it("is ok with a point in any of them, even a zero", () => {
    expect(measure(c, M, series([[min(-2), 0]]))).toMatchObject({ outcome: "ok" });
    expect(measure(c, M, series([[M, 7]]))).toMatchObject({ outcome: "ok", value: 7 });
  });

  it("reads N-1 minutes back", () => {
    expect(needs(c)).toEqual({ before: 2, yesterday: false });
  });
});
