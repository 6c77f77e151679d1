import type { JobState } from '../lifecycle.js';
import { DEFAULT_BUCKETS, Histogram } from './histogram.js';
import { listen } from './listen.js';
import type { MetricFamily, Sample } from './prometheus-text.js';
import { prometheusText } from './prometheus-text.js';
import type { JobQueue } from '../contract.js';
import type { DashboardJob, DashboardStats } from './types.js';

/** Options of {@link queueMetrics}. */
export interface QueueMetricsOptions {
  /** The queues, by the name their `queue` label gets. */
  queues: Readonly<Record<string, JobQueue<unknown>>>;
  /**
   * Upper bounds of the wait and run time histograms, seconds.
   * @defaultValue 5 ms to 300 s
   */
  buckets?: readonly number[];
}

/** The metrics of some queues: read with `families()` or `text()`, stop with `close()`. */
export interface QueueMetrics {
  /** The current metric families (for an exporter of your own). */
  families(): Promise<MetricFamily[]>;
  /** The Prometheus text exposition of the current metrics. */
  text(): Promise<string>;
  /** Stops observing the queues' events. */
  close(): void;
}

const STATES: readonly JobState[] = ['ready', 'delayed', 'reserved', 'buried'];

/** Counters read from `stats()`, by metric name. */
export const COUNTERS = [
  ['docket_jobs_completed_total', 'completed', 'Jobs acknowledged as done.'],
  ['docket_jobs_failed_total', 'failed', 'Failed attempts (errors, timeouts, lost leases).'],
  ['docket_jobs_retried_total', 'retried', 'Failed attempts scheduled to run again.'],
  ['docket_jobs_dead_total', 'dead', 'Jobs buried as dead letters.'],
] as const satisfies ReadonlyArray<readonly [string, keyof DashboardStats, string]>;

export const JOBS_HELP = 'Jobs held, by state.';
export const WAIT_HELP = 'Seconds from a job being due to its first start.';
export const RUN_HELP = 'Seconds from an attempt starting to its acknowledgement.';

/**
 * Seconds a job waited before its first start, from its `'active'` event; `undefined` for
 * a later attempt or a job without times (a remote one).
 */
export function waitSeconds(job: DashboardJob): number | undefined {
  // The first reservation ever (redrives and give-backs count in `reserves` too).
  if (job.reserves !== 1 || job.processedOn === undefined || job.createdOn === undefined) return undefined;
  return Math.max(0, job.processedOn - job.createdOn - (job.delay ?? 0)) / 1000;
}

/** Seconds a completed job's last attempt ran, from its `'completed'` event. */
export function runSeconds(job: DashboardJob): number | undefined {
  if (job.processedOn === undefined || job.finishedOn === undefined) return undefined;
  return Math.max(0, job.finishedOn - job.processedOn) / 1000;
}

/**
 * Watches job events (`'active'`, `'completed'`) of each queue that emits them and
 * calls `observe`; returns the undo. Histograms start from the moment this is called.
 */
export function observeDurations(
  queues: Readonly<Record<string, JobQueue<unknown>>>,
  observe: (metric: 'wait' | 'run', queue: string, seconds: number) => void,
): () => void {
  const undo: Array<() => void> = [];
  for (const [name, queue] of Object.entries(queues)) {
    undo.push(
      listen(queue, 'active', (job: DashboardJob) => {
        const seconds = waitSeconds(job);
        if (seconds !== undefined) observe('wait', name, seconds);
      }),
      listen(queue, 'completed', (job: DashboardJob) => {
        const seconds = runSeconds(job);
        if (seconds !== undefined) observe('run', name, seconds);
      }),
    );
  }
  return () => {
    for (const fn of undo) fn();
  };
}

function histogramSamples(histograms: ReadonlyMap<string, Histogram>): Sample[] {
  const samples: Sample[] = [];
  for (const [queue, h] of histograms) {
    for (const [bound, count] of h.cumulative())
      samples.push({ suffix: '_bucket', labels: { queue, le: bound === Infinity ? '+Inf' : String(bound) }, value: count });
    samples.push({ suffix: '_sum', labels: { queue }, value: h.sum }, { suffix: '_count', labels: { queue }, value: h.count });
  }
  return samples;
}

/**
 * Prometheus metrics for queues: `docket_jobs{queue,state}` (gauge), completed / failed /
 * retried / dead counters (for queues whose `stats()` counts them), and wait and run time
 * histograms (from the queue's job events, from now on).
 * @example
 * ```ts
 * const metrics = queueMetrics({ queues: { emails } });
 * app.get('/metrics', async (_req, res) => res.type('text/plain').send(await metrics.text()));
 * ```
 */
export function queueMetrics(options: QueueMetricsOptions): QueueMetrics {
  const { queues } = options;
  const buckets = options.buckets ?? DEFAULT_BUCKETS;
  const histograms = { wait: new Map<string, Histogram>(), run: new Map<string, Histogram>() };
  for (const name of Object.keys(queues)) {
    histograms.wait.set(name, new Histogram(buckets));
    histograms.run.set(name, new Histogram(buckets));
  }
  const stop = observeDurations(queues, (metric, queue, seconds) => histograms[metric].get(queue)?.observe(seconds));

  async function families(): Promise<MetricFamily[]> {
    const entries = Object.entries(queues);
    const stats = await Promise.all(entries.map(async ([name, q]): Promise<[string, DashboardStats]> => [name, await q.stats()]));
    const jobs: Sample[] = [];
    for (const [queue, s] of stats) for (const state of STATES) jobs.push({ labels: { queue, state }, value: s[state] });
    const out: MetricFamily[] = [{ name: 'docket_jobs', help: JOBS_HELP, type: 'gauge', samples: jobs }];
    for (const [metric, field, help] of COUNTERS) {
      const samples: Sample[] = [];
      for (const [queue, s] of stats) {
        const value = s[field];
        if (typeof value === 'number') samples.push({ labels: { queue }, value });
      }
      out.push({ name: metric, help, type: 'counter', samples });
    }
    out.push(
      { name: 'docket_job_wait_seconds', help: WAIT_HELP, type: 'histogram', samples: histogramSamples(histograms.wait) },
      { name: 'docket_job_run_seconds', help: RUN_HELP, type: 'histogram', samples: histogramSamples(histograms.run) },
    );
    return out;
  }

  return {
    families,
    text: async () => prometheusText(await families()),
    close: stop,
  };
}
