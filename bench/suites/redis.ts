import type { Row, Suite } from '../harness.js';

const script = 'cases/redis-throughput.ts';
const peers = ['BullMQ', 'bee-queue'] as const;
const subjectOf = { BullMQ: 'bullmq', 'bee-queue': 'bee-queue' } as const;

function throughput(concurrency: number, target: string, targetRatio: Record<string, number>): Row {
  return {
    name: `add + process + ack 20k jobs, concurrency ${concurrency}`,
    target,
    targetRatio,
    unit: 'jobs/s',
    higherIsBetter: true,
    subjects: [
      { label: 'docket', script, args: ['docket', String(concurrency), 'rate'], docket: true, note: 'docket/redis' },
      ...peers.map((label) => ({ label, script, args: [subjectOf[label], String(concurrency), 'rate'] })),
    ],
  };
}

function perJob(measure: 'commands' | 'scripts', concurrency: number): Row {
  const what = measure === 'commands' ? 'Redis commands executed per job' : 'script calls (round trips) per job';
  return {
    name: `${what} (5k jobs, concurrency ${concurrency})`,
    unit: measure === 'commands' ? 'commands/job' : 'calls/job',
    higherIsBetter: false,
    subjects: [
      { label: 'docket', script, args: ['docket', String(concurrency), measure, '5000'], docket: true },
      ...peers.map((label) => ({ label, script, args: [subjectOf[label], String(concurrency), measure, '5000'] })),
    ],
  };
}

export default {
  title: 'docket/redis vs BullMQ and bee-queue on the same redis-server',
  description:
    "Producer and consumer in one process; each run starts its own redis-server (`--save '' --appendonly no`, " +
    'the same binary for every library). Each library is loaded and the payloads built before the clock starts. ' +
    'The consumer starts first, then the jobs (`{ i }` payloads) are added in ' +
    "batches of 1000 with each library's bulk call; handlers are no-ops; completed jobs are deleted " +
    '(BullMQ `removeOnComplete`, bee-queue `removeOnSuccess`). Libraries otherwise run with their defaults, except ' +
    'bee-queue with its fastest documented settings (no events, no job store). Commands per job come from INFO ' +
    'commandstats (commands run inside scripts included); script calls per job are the round trips that carry them.',
  rows: [
    throughput(64, '>= 3x BullMQ, >= 1.5x bee-queue', { BullMQ: 3, 'bee-queue': 1.5 }),
    throughput(1, '>= 2x BullMQ', { BullMQ: 2 }),
    perJob('commands', 64),
    perJob('scripts', 64),
    perJob('commands', 1),
    perJob('scripts', 1),
  ],
} satisfies Suite;
