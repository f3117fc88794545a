import { API, type CompareName, type SeriesAnswer, type SeriesQuery } from "./api.js";

const MINUTE = 60_000;
/** The API answers at most this many points a series. */
const MAX_POINTS = 1440;

export type LineName = "current" | CompareName;

/** A chart's worth of one attribute: bucket times and one line per series. */
export interface ChartData {
  kind: SeriesAnswer["kind"];
  stepMs: number;
  resolution: SeriesAnswer["resolution"];
  times: number[];
  lines: { name: LineName; values: (number | null)[] }[];
}

export function toChartData(a: SeriesAnswer): ChartData {
  const from = Date.parse(a.from);
  const n = a.series[0]?.values.length ?? 0;
  return {
    kind: a.kind,
    stepMs: a.stepMs,
    resolution: a.resolution,
    times: Array.from({ length: n }, (_, i) => from + i * a.stepMs),
    lines: a.series.map((s) => ({ name: s.name, values: s.values })),
  };
}

/**
 * One attribute over [from, to]. With `everyMinute`, a range longer than the API's 1,440
 * points is fetched as day-long pieces at one-minute steps and joined (a week: 10,080
 * points a line); otherwise the API picks the step.
 */
export async function fetchChart(
  service: string,
  q: SeriesQuery,
  everyMinute: boolean,
): Promise<ChartData> {
  const minutes = Math.floor((q.to - q.from) / MINUTE) + 1;
  if (!everyMinute || minutes <= MAX_POINTS) {
    return toChartData(await API.series(service, everyMinute ? { ...q, step: "1m" } : q));
  }
  const pieces: { from: number; to: number }[] = [];
  for (let s = q.from; s <= q.to; s += MAX_POINTS * MINUTE) {
    pieces.push({ from: s, to: Math.min(q.to, s + (MAX_POINTS - 1) * MINUTE) });
  }
  const answers = await Promise.all(
    pieces.map((p) => API.series(service, { ...q, ...p, step: "1m" }).then(toChartData)),
  );
  const first = answers[0] as ChartData;
  return {
    kind: first.kind,
    stepMs: Math.max(...answers.map((a) => a.stepMs)),
    resolution: answers.some((a) => a.resolution === "hour") ? "hour" : "minute",
    times: answers.flatMap((a) => a.times),
    lines: first.lines.map((l, i) => ({
      name: l.name,
      values: answers.flatMap((a) => a.lines[i]?.values ?? []),
    })),
  };
}

export interface Summary {
  min: number;
  max: number;
  last: number;
  points: number;
}

/** Min, max and last of a line (null when it has no point): the chart's text alternative. */
export function summarize(values: readonly (number | null)[]): Summary | null {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  let last: number | null = null;
  let points = 0;
  for (const v of values) {
    if (v === null) continue;
    points++;
    if (v < min) min = v;
    if (v > max) max = v;
    last = v;
  }
  return last === null ? null : { min, max, last, points };
}
