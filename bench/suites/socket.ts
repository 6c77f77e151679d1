import type { Suite } from '../harness.js';

const script = 'cases/socket-raw.ts';

export default {
  title: 'docket/socket server: docket serve() vs beanstalkd 1.12',
  description:
    'The same pipelined raw-socket Node client (no library; up to 512 commands in flight per connection) ' +
    'against each server, each in its own process on 127.0.0.1. Each pair is a producer connection (put, ' +
    '64-byte bodies) and a consumer connection (reserve + delete) on its own tube; 200k jobs in total. ' +
    'jobs/s from the first put to the last DELETED.',
  rows: [
    {
      name: 'put / reserve / delete, 1 producer + consumer pair',
      target: '>= 1.0x beanstalkd',
      targetRatio: { beanstalkd: 1 },
      unit: 'jobs/s',
      higherIsBetter: true,
      subjects: [
        { label: 'docket', script, args: ['docket', '1'], docket: true },
        { label: 'beanstalkd', script, args: ['beanstalkd', '1'] },
      ],
    },
    {
      name: 'put / reserve / delete, 16 producer + consumer pairs',
      target: '>= 1.0x beanstalkd',
      targetRatio: { beanstalkd: 1 },
      unit: 'jobs/s',
      higherIsBetter: true,
      subjects: [
        { label: 'docket', script, args: ['docket', '16'], docket: true },
        { label: 'beanstalkd', script, args: ['beanstalkd', '16'] },
      ],
    },
  ],
} satisfies Suite;
