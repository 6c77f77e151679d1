import type { Row, Subject, Suite } from '../harness.js';

function subjects(task: string, extra: string[] = []): Subject[] {
  return [
    { label: 'docket', script: 'cases/threads-pool.ts', args: ['docket', task, ...extra], docket: true, note: 'jobs through a Queue, threads() handler' },
    { label: 'piscina', script: 'cases/threads-pool.ts', args: ['piscina', task] },
    { label: 'tinypool', script: 'cases/threads-pool.ts', args: ['tinypool', task] },
    { label: 'docket ThreadPool', script: 'cases/threads-pool.ts', args: ['docket-pool', task], note: 'pool.run() without a queue; not compared' },
  ];
}

const rows: Row[] = [
  {
    name: '100k tiny tasks (x => x + 1) on 2 threads',
    target: '>= 1.0x piscina and tinypool',
    targetRatio: { piscina: 1.0, tinypool: 1.0 },
    unit: 'tasks/s',
    higherIsBetter: true,
    subjects: subjects('tiny'),
  },
  {
    name: '2k CPU-bound tasks (~1 ms of SHA-256 each) on 2 threads',
    target: 'within 5% of piscina',
    targetRatio: { piscina: 0.95 },
    unit: 'tasks/s',
    higherIsBetter: true,
    subjects: subjects('hash'),
  },
];

export default {
  title: 'docket threads vs piscina, tinypool',
  description:
    'Each subject starts 2 threads and warms them before the clock starts, then submits every task at once and ' +
    'awaits every result (checked). docket runs the tasks as jobs of a Queue whose handler is `threads()` ' +
    "(queue concurrency = the handler's `concurrency`, 2), so its figure includes the queue's work (add, lease, " +
    'ack, events) on top of the pool\'s; piscina and tinypool are called directly. "docket ThreadPool" is ' +
    'the bare pool, for reference. The worker modules are plain .mjs files shared by all subjects.',
  rows,
} satisfies Suite;
