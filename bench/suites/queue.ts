import type { Row, Subject, Suite } from '../harness.js';

function subjects(script: string, labels: string[], extraArgs: string[] = [], nodeArgs?: string[]): Subject[] {
  return labels.map((label) => ({
    label,
    script,
    args: [label, ...extraArgs],
    docket: label === 'docket',
    ...(nodeArgs === undefined ? {} : { nodeArgs }),
  }));
}

/**
 * p-queue dequeues with Array#shift, O(n) per job with n waiting, so 1M queued jobs take
 * minutes (100k: ~4 s, 200k: ~15 s on the reference machine). It runs 100k jobs; with 1M its
 * rate would be lower still.
 */
const pQueueJobs = '100000';
const pQueueNote = '100k jobs (Array#shift dequeue is O(n): 1M takes minutes)';

const fifoPeers = ['async.queue', 'fastq', 'fastq.promise'];

function fifo(concurrency: number): Row {
  return {
    name: `FIFO: 1M no-op async jobs, concurrency ${concurrency}`,
    target: '>= 1.0x async.queue and fastq',
    targetRatio: { 'async.queue': 1.0, fastq: 1.0 },
    unit: 'jobs/s',
    higherIsBetter: true,
    subjects: [
      ...subjects('cases/queue-fifo.ts', ['docket', ...fifoPeers], [String(concurrency)]),
      { label: 'p-queue', script: 'cases/queue-fifo.ts', args: ['p-queue', String(concurrency), pQueueJobs], note: pQueueNote },
    ],
  };
}

export default {
  title: 'docket Queue vs async, fastq, p-queue',
  description:
    'Each job carries a `{ i }` payload and completes asynchronously (an `async` handler; fastq\'s callback API ' +
    'calls back in a microtask). Throughput counts the whole: adding every job and running it to completion.',
  rows: [
    fifo(1),
    fifo(64),
    {
      name: 'Priorities 0..9 (random), 1M jobs, concurrency 1, all queued before the consumer starts',
      target: '>= 1.0x async.priorityQueue, 0 order violations',
      targetRatio: { 'async.priorityQueue': 1.0 },
      unit: 'jobs/s',
      higherIsBetter: true,
      subjects: subjects('cases/queue-priority.ts', ['docket', 'async.priorityQueue']),
      check: (extra) => {
        const v = extra.violations;
        if (typeof v !== 'number') return 'order violations not reported';
        return v === 0 ? undefined : `ORDER VIOLATIONS: ${v}`;
      },
    },
    {
      name: 'Memory: retained heap per waiting job, 1M jobs with a `{ i }` payload in a paused queue',
      target: '<= fastq',
      targetRatio: { fastq: 1.0 },
      unit: 'bytes/job',
      higherIsBetter: false,
      subjects: subjects('cases/queue-memory.ts', ['docket', 'fastq', 'async.queue', 'p-queue'], [], ['--expose-gc']),
    },
  ],
} satisfies Suite;
