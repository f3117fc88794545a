export { renderPrometheus, PROMETHEUS_CONTENT_TYPE } from "./prometheus.js";
export { Counter, DEFAULT_BUCKETS, Gauge, Histogram, type Metric, type MetricLabels, MetricsRegistry, metrics } from "./registry.js";
