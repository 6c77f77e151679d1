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

const fifoScript = 'cases/queue-fifo.ts';

/** docket's fire-and-forget producer (`push`, no promise) against the peers' callback APIs. */
function fifoPush(concurrency: number): Row {
  const c = String(concurrency);
  return {
    name: `FIFO: 1M no-op async jobs, concurrency ${concurrency}, producers that take no promise (docket push)`,
    target: '>= 1.0x async.queue and fastq',
    targetRatio: { 'async.queue': 1.0, fastq: 1.0 },
    unit: 'jobs per CPU-s',
    higherIsBetter: true,
    subjects: [
      { label: 'docket', script: fifoScript, args: ['docket.push', c], docket: true, note: 'q.push(data)' },
      { label: 'async.queue', script: fifoScript, args: ['async.queue', c], note: 'q.push(task, callback), callback worker' },
      { label: 'fastq', script: fifoScript, args: ['fastq', c], note: 'q.push(task), callback worker' },
    ],
  };
}

/** docket's promise-returning producer (`add`) against the peers' promise APIs. */
function fifoAdd(concurrency: number): Row {
  const c = String(concurrency);
  return {
    name: `FIFO: 1M no-op async jobs, concurrency ${concurrency}, producers that get a promise per job (docket add)`,
    target: '>= 2x fastq.promise',
    targetRatio: { 'fastq.promise': 2.0 },
    unit: 'jobs per CPU-s',
    higherIsBetter: true,
    subjects: [
      { label: 'docket', script: fifoScript, args: ['docket.add', c], docket: true, note: 'q.add(data), not awaited' },
      { label: 'fastq.promise', script: fifoScript, args: ['fastq.promise', c], note: 'q.push(task), not awaited' },
      { label: 'p-queue', script: fifoScript, args: ['p-queue', c, pQueueJobs], note: `q.add(() => handler(data)); ${pQueueNote}` },
    ],
  };
}

export default {
  title: 'docket Queue vs async, fastq, p-queue',
  description:
    'Each job carries a `{ i }` payload and completes asynchronously: an `async` handler, or for the callback ' +
    'APIs (async, fastq) a worker that calls back in a microtask. Every subject is driven by its cheapest ' +
    'documented producer call (see the notes). Throughput counts the whole: adding every job and running it to completion.',
  rows: [
    fifoPush(1),
    fifoPush(64),
    fifoAdd(1),
    fifoAdd(64),
    {
      name: 'Priorities 0..9 (random), 1M jobs, concurrency 1, all queued before the consumer starts',
      target: '>= 2x async.priorityQueue, 0 order violations',
      targetRatio: { 'async.priorityQueue': 2.0 },
      unit: 'jobs per CPU-s',
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
      target: '<= async.queue',
      targetRatio: { 'async.queue': 1.0 },
      unit: 'bytes/job',
      higherIsBetter: false,
      subjects: subjects('cases/queue-memory.ts', ['docket', 'fastq', 'async.queue', 'p-queue'], [], ['--expose-gc']),
    },
  ],
} satisfies Suite;
