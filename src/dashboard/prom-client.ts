// 'docket/dashboard/prom-client': docket's queue metrics as prom-client collectors, for an
// application that already exposes a prom-client registry. The only module that imports
// prom-client (an optional peer dependency).
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { JobQueue } from '../contract.js';
import { DEFAULT_BUCKETS } from './histogram.js';
import { COUNTERS, JOBS_HELP, observeDurations, RUN_HELP, WAIT_HELP } from './metrics.js';
import type { QueueMetricsOptions } from './metrics.js';
import type { DashboardStats } from './types.js';

const STATES = ['ready', 'delayed', 'reserved', 'buried'] as const;

/** What {@link registerQueueMetrics} registered: `close()` unregisters it and stops observing. */
export interface RegisteredQueueMetrics {
  close(): void;
}

/**
 * Registers `docket_jobs`, the completed / failed / retried / dead counters and the wait and
 * run time histograms (the same metrics as `queueMetrics()`) in a prom-client registry.
 * Counts and counters are read from each queue's `stats()` at scrape time, once per scrape.
 * @example
 * ```ts
 * const registry = new Registry();
 * registerQueueMetrics(registry, { queues: { emails } });
 * ```
 */
export function registerQueueMetrics(registry: Registry, options: QueueMetricsOptions): RegisteredQueueMetrics {
  const queues: ReadonlyArray<[string, JobQueue<unknown>]> = Object.entries(options.queues);
  const registers = [registry];
  // Every collector of one scrape shares one read of the queues (prom-client collects them at once).
  let reading: Promise<Array<[string, DashboardStats]>> | undefined;
  const readAll = (): Promise<Array<[string, DashboardStats]>> =>
    (reading ??= Promise.all(queues.map(async ([name, q]): Promise<[string, DashboardStats]> => [name, await q.stats()])).finally(() => {
      reading = undefined;
    }));

  const names: string[] = ['docket_jobs'];
  new Gauge({
    name: 'docket_jobs',
    help: JOBS_HELP,
    labelNames: ['queue', 'state'],
    registers,
    async collect() {
      const all = await readAll();
      this.reset();
      for (const [queue, s] of all) for (const state of STATES) this.set({ queue, state }, s[state]);
    },
  });
  for (const [name, field, help] of COUNTERS) {
    names.push(name);
    new Counter({
      name,
      help,
      labelNames: ['queue'],
      registers,
      async collect() {
        const all = await readAll();
        this.reset();
        for (const [queue, s] of all) {
          const value = s[field];
          if (typeof value === 'number') this.inc({ queue }, value);
        }
      },
    });
  }
  const buckets = [...(options.buckets ?? DEFAULT_BUCKETS)];
  const wait = new Histogram({ name: 'docket_job_wait_seconds', help: WAIT_HELP, labelNames: ['queue'], buckets, registers });
  const run = new Histogram({ name: 'docket_job_run_seconds', help: RUN_HELP, labelNames: ['queue'], buckets, registers });
  names.push('docket_job_wait_seconds', 'docket_job_run_seconds');
  for (const [queue] of queues) {
    // Zeroed series from the start, as queueMetrics() shows them.
    wait.zero({ queue });
    run.zero({ queue });
  }
  const stop = observeDurations(options.queues, (metric, queue, seconds) => (metric === 'wait' ? wait : run).observe({ queue }, seconds));
  return {
    close() {
      stop();
      for (const name of names) registry.removeSingleMetric(name);
    },
  };
}
