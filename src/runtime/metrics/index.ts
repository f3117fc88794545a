export { PROMETHEUS_CONTENT_TYPE, renderPrometheus } from "./prometheus.js";
export {
  Counter,
  DEFAULT_BUCKETS,
  Gauge,
  Histogram,
  type Metric,
  type MetricLabels,
  MetricsRegistry,
  metrics,
} from "./registry.js";
