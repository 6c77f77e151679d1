import type { Suite } from '../harness.js';

const add = 'cases/journal-add.ts';
const recovery = 'cases/journal-recovery.ts';

function addRow(sync: 'always' | 'interval' | 'never', flags: string, producers: string) {
  return {
    name: `durable add, sync ${sync}, ${producers} producers in flight`,
    unit: 'jobs/s',
    higherIsBetter: true,
    subjects: [
      { label: 'docket', script: add, args: ['docket', sync, producers], docket: true, note: 'openQueue() in process, concurrent add()' },
      { label: 'docket-server', script: add, args: ['docket-server', sync, producers], note: 'serve(openQueue()) in a child, raw put client' },
      { label: 'beanstalkd', script: add, args: ['beanstalkd', sync, producers], note: `beanstalkd -b ${flags}, raw put client` },
    ],
  };
}

export default {
  title: 'docket/journal: durable queues',
  description:
    'Durable add throughput under each sync policy, in process and through docket serve() (child process), next to ' +
    'beanstalkd 1.12 with a binlog (-b <tmpdir>; `always` = -f 0, `interval` = default -f 50, `never` = -F), both ' +
    'servers fed by the same raw pipelined put client over loopback (64 puts in flight over 16 connections, 64-byte ' +
    'bodies). `always` runs 20k jobs, the others 100k (BENCH_SCALE scales them). Recovery: time from open to a usable ' +
    'queue holding 1,000,000 live jobs (docket: openQueue(); beanstalkd: restart until it answers `stats`, since it ' +
    'binds its port before replaying). Each journal lives in a fresh temp directory on the same disk.',
  rows: [
    addRow('always', '-f 0', '64'),
    addRow('interval', '(-f 50)', '64'),
    addRow('never', '-F', '64'),
    {
      name: 'durable add, sync always, 1 producer (no group commit possible)',
      unit: 'jobs/s',
      higherIsBetter: true,
      subjects: [
        { label: 'docket', script: add, args: ['docket', 'always', '1'], docket: true },
        { label: 'beanstalkd', script: add, args: ['beanstalkd', 'always', '1'], note: 'beanstalkd -b -f 0' },
      ],
    },
    {
      name: 'recovery of 1,000,000 live jobs',
      target: '< 2000 ms',
      unit: 'ms',
      higherIsBetter: false,
      subjects: [
        {
          label: 'docket',
          script: recovery,
          args: ['docket'],
          nodeArgs: ['--expose-gc', '--max-old-space-size=4096'],
          docket: true,
          note: 'openQueue() until usable',
        },
        { label: 'beanstalkd', script: recovery, args: ['beanstalkd'], note: 'restart until `stats` answers' },
      ],
    },
  ],
} satisfies Suite;
