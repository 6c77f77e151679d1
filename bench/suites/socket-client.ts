import type { Suite } from '../harness.js';

const script = 'cases/socket-client-throughput.ts';

export default {
  title: 'docket/socket client: docket client + server vs BullMQ + Redis',
  description:
    'Producer and consumer in one process, the server in its own process on 127.0.0.1 (docket `serve()`, ' +
    "redis-server `--save '' --appendonly no`, beanstalkd 1.12). The consumer starts first, then 50k jobs with a " +
    '`{ i }` payload are added in batches of 1000 (`addBulk`); handlers are no-ops; completed jobs are deleted ' +
    '(BullMQ `removeOnComplete`). jobs/s over the whole run. The beanstalkd row runs the same docket client ' +
    'against the reference server, for information.',
  rows: [
    {
      name: 'produce + consume 50k jobs, concurrency 64',
      target: '>= 5x BullMQ',
      targetRatio: { BullMQ: 5 },
      unit: 'jobs/s',
      higherIsBetter: true,
      subjects: [
        { label: 'docket', script, args: ['docket', '64'], docket: true, note: 'docket client -> docket serve()' },
        { label: 'BullMQ', script, args: ['bullmq', '64'], note: 'BullMQ Queue + Worker -> redis-server' },
        { label: 'beanstalkd', script, args: ['beanstalkd', '64'], note: 'docket client -> beanstalkd 1.12 (information)' },
      ],
    },
    {
      name: 'produce + consume 50k jobs, concurrency 1',
      unit: 'jobs/s',
      higherIsBetter: true,
      subjects: [
        { label: 'docket', script, args: ['docket', '1'], docket: true, note: 'docket client -> docket serve()' },
        { label: 'BullMQ', script, args: ['bullmq', '1', '5000'], note: 'BullMQ, 5k jobs (one at a time is slow)' },
        { label: 'beanstalkd', script, args: ['beanstalkd', '1'], note: 'docket client -> beanstalkd 1.12 (information)' },
      ],
    },
  ],
} satisfies Suite;
