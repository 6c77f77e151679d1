import type { Row, Suite } from '../harness.js';

function row(priorities: number): Row {
  return {
    name: `1M jobs, ${priorities} ${priorities === 1 ? 'priority' : 'priorities'}: add all, then take all`,
    unit: 'ops/s',
    higherIsBetter: true,
    subjects: [
      { label: 'buckets (ReadySet)', script: 'cases/ready-set.ts', args: ['buckets', String(priorities)], docket: true },
      { label: 'one stable heap', script: 'cases/ready-set.ts', args: ['heap', String(priorities)] },
    ],
  };
}

export default {
  title: 'Ready set: priority buckets vs one binary heap (a design check, both docket code)',
  description: "The queue's ready set is whichever of the two structures measures faster; this is that measurement.",
  rows: [row(1), row(10)],
} satisfies Suite;
