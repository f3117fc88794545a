import { lazy } from "../lazy.js";
import type { ChartProps } from "./chart.js";

/** The chart, with uPlot, fetched on first use: pages without charts never load it. */
export const Chart = lazy<ChartProps>(() => import("./chart.js").then((m) => m.Chart));
export type { ChartLine, ChartProps } from "./chart.js";
