// 'docket/dashboard': the web page, its JSON API and Prometheus metrics. An explicit list, no `export *`.

export { dashboard } from './handler.js';
export type { DashboardHandler } from './handler.js';
export { queueMetrics } from './metrics.js';
export type { QueueMetrics, QueueMetricsOptions } from './metrics.js';
export { prometheusText, PROMETHEUS_CONTENT_TYPE } from './prometheus-text.js';
export type { MetricFamily, Sample } from './prometheus-text.js';
export { DEFAULT_BUCKETS } from './histogram.js';
export type { Capabilities, QueueSummary, JobPage } from './queue-view.js';
export type { JobDetail, JobSummary, PayloadView, TimelineEntry } from './present.js';
export type {
  Access,
  DashboardJob,
  DashboardJobStats,
  DashboardOptions,
  DashboardQueue,
  DashboardStats,
  MaybePromise,
  QueueInsight,
} from './types.js';
