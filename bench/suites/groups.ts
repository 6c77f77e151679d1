import type { Row, Suite } from '../harness.js';

const script = 'cases/queue-groups.ts';

/** Jobs per CPU-s through `process()` with the jobs spread over `groups` groups, beside the same jobs without groups. */
function throughput(jobs: number, groups: number): Row {
  return {
    name: `${jobs / 1e6}M no-op async jobs over ${groups.toLocaleString('en-US')} groups (groupConcurrency 1, concurrency 64), queued first`,
    target: 'a cost per job that does not grow with the number of groups (O(log n))',
    unit: 'jobs per CPU-s',
    higherIsBetter: true,
    subjects: [
      {
        label: 'docket, groups',
        script,
        args: ['throughput', String(jobs), String(groups)],
        docket: true,
        note: `add(data, { group }), ${jobs / groups} jobs a group`,
      },
      { label: 'docket, no groups', script, args: ['throughput', String(jobs), '0'], note: 'the same jobs without a group: the plain FIFO path' },
    ],
    check: (extra) => (extra.outOfOrder === 0 ? undefined : `${String(extra.outOfOrder)} jobs ran before an older job of their group`),
  };
}

export default {
  title: 'Groups: throughput, fairness, starvation (docket only)',
  description:
    'No peer offers groups in process (BullMQ has them in its paid edition only), so the groups rows compare docket with groups against the same jobs without groups: what a group costs per job. Fairness: 100 groups of 1,000 jobs each, added group after group; when half the jobs are done, the spread of the groups’ completion shares in % of the mean (0 is perfect turns). Starvation: 100 groups of 3 jobs added after one group of 100,000, concurrency 1; jobs completed before the small groups’ last one, as a multiple of the ideal 3 x (100 + 1) (one job a turn for each group, the big one included).',
  rows: [
    throughput(1_000_000, 100),
    throughput(1_000_000, 100_000),
    {
      name: '1M no-op async jobs, a queue limiter that never binds (concurrency 64), queued first',
      target: 'what the rate limit costs per start',
      unit: 'jobs per CPU-s',
      higherIsBetter: true,
      subjects: [
        { label: 'docket, limiter', script, args: ['limited', '1000000', '0'], docket: true, note: 'limiter: { max: 1M, duration: 1 h }' },
        { label: 'docket, no limiter', script, args: ['throughput', '1000000', '0'], note: 'the plain FIFO path' },
      ],
    },
    {
      name: 'Fairness: 100 groups x 1,000 jobs added group after group, concurrency 16: spread of completion shares at half-time',
      target: '0% (equal turns)',
      unit: '% of the mean share',
      higherIsBetter: false,
      subjects: [{ label: 'docket', script, args: ['fairness', '100000', '100'], docket: true }],
    },
    {
      name: 'Starvation: 100 groups x 3 jobs behind one group of 100,000, concurrency 1: completions before the small ones are done, x ideal',
      target: '1.0x (3 turns each)',
      unit: 'x ideal',
      higherIsBetter: false,
      subjects: [{ label: 'docket', script, args: ['starvation', '100000', '100'], docket: true }],
    },
  ],
} satisfies Suite;
