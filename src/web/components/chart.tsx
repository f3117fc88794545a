import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { type Formats, useI18n } from "../i18n/index.js";

/**
 * A time chart drawn by uPlot (canvas; a week of minutes, 10,080 points a line, draws in
 * milliseconds). Loaded lazily with this file's chunk: import `Chart` from `lazy-chart.js`.
 */
export interface ChartLine {
  label: string;
  /** One value per entry of `times`; null is a gap. */
  values: readonly (number | null)[];
  /** How it is drawn: today solid, yesterday dashed, a week ago dotted. */
  look: "current" | "yesterday" | "week";
}

export interface ChartProps {
  /** Accessible name of the chart. */
  label: string;
  /** Bucket start times, epoch ms, ascending. */
  times: readonly number[];
  lines: readonly ChartLine[];
  height?: number;
  /** A horizontal line (an alarm rule's threshold); the y range stretches to show it. */
  threshold?: number | undefined;
  /** Time ranges [start, end) in ms to shade (minutes an alarm would have fired). */
  highlights?: readonly (readonly [number, number])[] | undefined;
  /** The visible x range (ms); the whole data when absent. */
  view?: { from: number; to: number } | undefined;
  /** The user dragged over a range (ms). Without it, dragging does nothing. */
  onSelect?: ((from: number, to: number) => void) | undefined;
  /** The user double-clicked the plot (undo zoom). */
  onReset?: (() => void) | undefined;
  /** Charts with the same key share the cursor. */
  syncKey?: string | undefined;
}

const LOOKS = {
  current: { stroke: "#2f5d8a", width: 2, dash: undefined },
  yesterday: { stroke: "#c4741f", width: 1.5, dash: [6, 4] },
  week: { stroke: "#7d8793", width: 1.5, dash: [2, 3] },
} as const;

const DAY = 86_400_000;

function sparse(values: readonly (number | null)[]): boolean {
  let n = 0;
  for (const v of values) if (v !== null && ++n > 60) return false;
  return true;
}

function dashOf(look: ChartLine["look"]): { dash?: number[] } {
  const dash = LOOKS[look].dash;
  return dash ? { dash: [...dash] } : {};
}

function options(
  p: ChartProps,
  width: number,
  f: Formats,
  timeLabel: string,
  refs: { onSelect: ChartProps["onSelect"] },
): uPlot.Options {
  const span = (p.times.at(-1) ?? 0) - (p.times[0] ?? 0);
  const { threshold, highlights } = p;
  return {
    width,
    height: p.height ?? 220,
    ms: 1,
    pxAlign: false,
    cursor: {
      drag: { x: true, y: false, setScale: false },
      ...(p.syncKey ? { sync: { key: p.syncKey } } : {}),
    },
    legend: { live: true },
    scales: {
      x: { time: true },
      y: {
        range: (_u, dmin, dmax) => {
          let lo = Math.min(0, dmin ?? 0, threshold ?? 0);
          let hi = Math.max(dmax ?? 1, threshold ?? Number.NEGATIVE_INFINITY);
          if (hi <= lo) hi = lo + 1;
          lo = lo < 0 ? lo * 1.08 : lo;
          hi = hi > 0 ? hi * 1.08 : hi;
          return [lo, hi];
        },
      },
    },
    axes: [
      {
        values: (_u, splits) =>
          splits.map((v) => (span > DAY ? `${f.monthDay(v)}\n${f.time(v)}` : f.time(v))),
        space: span > DAY ? 80 : 70,
      },
      { values: (_u, splits) => splits.map((v) => f.compact(v)), size: 56 },
    ],
    series: [
      { label: timeLabel, value: (_u, v) => (v === null ? "–" : f.dateTime(v)) },
      ...p.lines.map((l) => ({
        label: l.label,
        stroke: LOOKS[l.look].stroke,
        width: LOOKS[l.look].width,
        ...dashOf(l.look),
        // Lines with few points (a new attribute) show them as dots: a lone minute has no line.
        points: { show: sparse(l.values), size: 5 },
        value: (_u: uPlot, v: number | null) => (v === null ? "–" : f.number(v)),
      })),
    ],
    hooks: {
      drawClear: [
        (u) => {
          if (!highlights?.length) return;
          const ctx = u.ctx;
          ctx.save();
          ctx.fillStyle = "rgba(190, 40, 40, 0.14)";
          for (const [a, b] of highlights) {
            const x0 = Math.max(u.bbox.left, u.valToPos(a, "x", true));
            const x1 = Math.min(u.bbox.left + u.bbox.width, u.valToPos(b, "x", true));
            if (x1 > x0) ctx.fillRect(x0, u.bbox.top, x1 - x0, u.bbox.height);
          }
          ctx.restore();
        },
      ],
      draw: [
        (u) => {
          if (threshold === undefined) return;
          const y = u.valToPos(threshold, "y", true);
          const ctx = u.ctx;
          ctx.save();
          ctx.strokeStyle = "#b42318";
          ctx.lineWidth = 1.5 * devicePixelRatio;
          ctx.setLineDash([4 * devicePixelRatio, 3 * devicePixelRatio]);
          ctx.beginPath();
          ctx.moveTo(u.bbox.left, y);
          ctx.lineTo(u.bbox.left + u.bbox.width, y);
          ctx.stroke();
          ctx.restore();
        },
      ],
      setSelect: [
        (u) => {
          const { left, width: w } = u.select;
          if (w < 3 || !refs.onSelect) return;
          const from = u.posToVal(left, "x");
          const to = u.posToVal(left + w, "x");
          u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
          refs.onSelect(Math.round(from), Math.round(to));
        },
      ],
    },
  };
}

function dataOf(p: ChartProps): uPlot.AlignedData {
  return [p.times as number[], ...p.lines.map((l) => l.values as (number | null)[])];
}

export function Chart(props: ChartProps) {
  const { f, lang, t } = useI18n();
  const box = useRef<HTMLElement>(null);
  const plot = useRef<uPlot | null>(null);
  const refs = useRef({ onSelect: props.onSelect, onReset: props.onReset });
  refs.current.onSelect = props.onSelect;
  refs.current.onReset = props.onReset;

  // What needs a new plot; anything else is new data for the same one.
  const shape = JSON.stringify([
    props.lines.map((l) => [l.label, l.look]),
    props.threshold,
    props.highlights,
    props.height,
    props.syncKey,
    lang,
    (props.times.at(-1) ?? 0) - (props.times[0] ?? 0) > DAY,
  ]);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const u = new uPlot(
      options(props, el.clientWidth || 600, f, t.time, refs.current),
      dataOf(props),
      el,
    );
    plot.current = u;
    const onDblClick = () => refs.current.onReset?.();
    u.over.addEventListener("dblclick", onDblClick);
    const resize = new ResizeObserver(() => {
      const w = el.clientWidth;
      if (w > 0 && w !== u.width) u.setSize({ width: w, height: u.height });
    });
    resize.observe(el);
    return () => {
      resize.disconnect();
      u.over.removeEventListener("dblclick", onDblClick);
      u.destroy();
      plot.current = null;
    };
  }, [shape]);

  useEffect(() => {
    const u = plot.current;
    if (!u) return;
    u.setData(dataOf(props), true);
  }, [props.times, props.lines]);

  const from = props.view?.from;
  const toMs = props.view?.to;
  useEffect(() => {
    const u = plot.current;
    if (!u || props.times.length === 0) return;
    const min = from ?? (props.times[0] as number);
    const max = toMs ?? (props.times.at(-1) as number);
    if (max > min) u.setScale("x", { min, max });
  }, [from, toMs, props.times, shape]);

  return <figure class="chart" ref={box} aria-label={props.label} />;
}
